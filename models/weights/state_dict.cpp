#include "models/weights/state_dict.h"

#include <set>
#include <sstream>

#include <torch/nn/module.h>

#include "models/common/error.h"

namespace wan {

void load_state_dict(torch::nn::Module& module, const TensorMap& weights, const std::string& what) {
  std::map<std::string, at::Tensor> targets;
  for (const auto& p : module.named_parameters(/*recurse=*/true)) targets.emplace(p.key(), p.value());
  for (const auto& b : module.named_buffers(/*recurse=*/true)) targets.emplace(b.key(), b.value());

  std::vector<std::string> missing, unexpected, misshaped;
  for (const auto& [name, t] : targets)
    if (!weights.count(name)) missing.push_back(name);
  for (const auto& [name, w] : weights) {
    auto it = targets.find(name);
    if (it == targets.end()) {
      unexpected.push_back(name);
    } else if (it->second.sizes() != w.sizes()) {
      std::ostringstream s;
      s << name << " (checkpoint " << w.sizes() << ", model " << it->second.sizes() << ")";
      misshaped.push_back(s.str());
    }
  }
  if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
    std::ostringstream msg;
    msg << "checkpoint " << what << " does not match the model:";
    auto list = [&msg](const char* title, const std::vector<std::string>& names) {
      if (names.empty()) return;
      msg << "\n  " << title << " (" << names.size() << "):";
      size_t shown = 0;
      for (const auto& n : names) {
        if (++shown > 20) {
          msg << " ... and " << names.size() - 20 << " more";
          break;
        }
        msg << " " << n;
      }
    };
    list("missing tensors", missing);
    list("unexpected tensors", unexpected);
    list("tensors of the wrong shape", misshaped);
    throw Error(msg.str());
  }

  torch::NoGradGuard no_grad;
  for (auto& [name, target] : targets) target.copy_(weights.at(name));
}

}  // namespace wan
