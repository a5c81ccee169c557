#include "tests/parity/parity_case.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "models/common/error.h"
#include "models/weights/safetensors.h"

namespace wan::parity {
namespace {

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path.string() + " is not valid JSON: " + e.what());
  }
}

std::map<std::string, ParityRunner>& registry() {
  static std::map<std::string, ParityRunner> r;
  return r;
}

}  // namespace

ParityCase::ParityCase(const std::filesystem::path& dir, const at::Device& device, at::ScalarType dtype)
    : dir_(dir), device_(device), dtype_(dtype) {
  meta_ = read_json(dir / "case.json");
  if (!meta_.contains("kind") || !meta_["kind"].is_string()) throw Error(dir.string() + "/case.json has no kind");
  kind_ = meta_["kind"].get<std::string>();
  if (std::filesystem::exists(dir / "config.json")) config_ = read_json(dir / "config.json");
  io_ = load_safetensors(file("io").string());
}

std::filesystem::path ParityCase::file(const std::string& key) const {
  if (meta_.contains("files") && meta_["files"].contains(key)) return dir_ / meta_["files"][key].get<std::string>();
  if (key == "io") return dir_ / "io.safetensors";
  throw Error("case " + dir_.string() + " lists no file '" + key + "'");
}

at::Tensor ParityCase::tensor(const std::string& name) const {
  auto it = io_.find(name);
  if (it == io_.end()) throw Error("case " + dir_.string() + " has no tensor '" + name + "'");
  const at::Tensor& t = it->second;
  if (t.is_floating_point() && t.scalar_type() != at::kDouble) return t.to(device_, at::kFloat);
  return t.to(device_, t.scalar_type(), /*non_blocking=*/false, /*copy=*/true);
}

std::vector<at::Tensor> ParityCase::tensor_list(const std::string& name) const {
  std::vector<at::Tensor> out;
  for (int i = 0; has(name + "." + std::to_string(i)); ++i) out.push_back(tensor(name + "." + std::to_string(i)));
  if (out.empty()) throw Error("case " + dir_.string() + " has no list '" + name + ".0, ...'");
  return out;
}

void ParityReport::compare(const std::string& name, const at::Tensor& got, const at::Tensor& expected) {
  ++count_;
  const at::Tensor g = got.detach().to(at::kCPU), e = expected.detach().to(at::kCPU);
  if (g.sizes() != e.sizes()) {
    std::ostringstream s;
    s << "shape " << g.sizes() << ", expected " << e.sizes();
    check(name, false, s.str()), --count_;
    return;
  }
  if (!e.is_floating_point()) {
    const int64_t diff = g.to(e.scalar_type()).ne(e).sum().item<int64_t>();
    check(name, diff == 0, diff == 0 ? "exact" : std::to_string(diff) + " elements differ"), --count_;
    return;
  }
  const at::Tensor gd = g.to(at::kDouble), ed = e.to(at::kDouble);
  const double ref = ed.norm().item<double>();
  const double err = (gd - ed).norm().item<double>();
  const double rel = ref > 0 ? err / ref : err;
  const bool ok = std::isfinite(rel) && rel < tolerance_;
  if (!ok) ++failures_;
  std::printf("%-40s rel_l2 %.3e  %s\n", name.c_str(), rel, ok ? "ok" : "FAIL");
  std::fflush(stdout);
}

void ParityReport::compare_list(const std::string& name, const std::vector<at::Tensor>& got,
                                const std::vector<at::Tensor>& expected) {
  if (got.size() != expected.size()) {
    check(name, false, "list of " + std::to_string(got.size()) + ", expected " + std::to_string(expected.size()));
    return;
  }
  for (size_t i = 0; i < got.size(); ++i) compare(name + "." + std::to_string(i), got[i], expected[i]);
}

void ParityReport::check(const std::string& name, bool ok, const std::string& detail) {
  ++count_;
  if (!ok) ++failures_;
  std::printf("%-40s %s  %s\n", name.c_str(), detail.c_str(), ok ? "ok" : "FAIL");
  std::fflush(stdout);
}

ParityKind::ParityKind(const char* kind, ParityRunner runner) { registry()[kind] = runner; }

ParityRunner find_runner(const std::string& kind) {
  auto it = registry().find(kind);
  return it == registry().end() ? nullptr : it->second;
}

std::vector<std::string> known_kinds() {
  std::vector<std::string> out;
  for (const auto& kv : registry()) out.push_back(kv.first);
  return out;
}

}  // namespace wan::parity
