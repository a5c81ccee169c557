// kind "dit-lora": the LoRA files of args.loras applied to the case's DiT (merged into the
// weights, or at run time with --lora-mode runtime), then the forward of kind "dit".
#include "models/common/error.h"
#include "models/dit/dit_loader.h"
#include "models/dit/lora_adapters.h"
#include "tests/parity/parity_dit.h"

namespace wan::parity {
namespace {

void run(const ParityCase& c, ParityReport& report) {
  TensorMap base;
  WanModel model = build_case_dit(c, &base);
  report.compare_list("out.pred_base", run_case_dit(*model, c), c.tensor_list("out.pred_base"));

  LoadOptions loras;  // where the model is stays as built: only the adapters are used
  const std::string mode = c.option("lora-mode", "merge");
  if (mode != "merge" && mode != "runtime") throw Error("--lora-mode must be merge or runtime, got " + mode);
  loras.lora_mode = mode == "merge" ? LoraMode::Merge : LoraMode::Runtime;
  loras.compute_device = c.device();
  for (const auto& entry : c.args().at("loras"))
    loras.loras.push_back(
        LoraSpec{(c.dir() / entry.at("file").get<std::string>()).string(), entry.at("strength").get<double>()});
  apply_loras(*model, loras, base);
  report.compare_list("out.pred", run_case_dit(*model, c), c.tensor_list("out.pred"));

  if (model->runtime_loras) {
    // Strengths change without reloading: at 0 the model is the base model again.
    model->set_lora_strengths(std::vector<double>(loras.loras.size(), 0.0));
    report.compare_list("out.pred_base (strengths set to 0)", run_case_dit(*model, c), c.tensor_list("out.pred_base"));
  }
}

ParityKind reg("dit-lora", run);

}  // namespace
}  // namespace wan::parity
