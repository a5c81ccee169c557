// kind "dit": WanModel.forward on a batch given as lists (t2v, i2v, flf2v).
#include "tests/parity/parity_dit.h"

#include <c10/core/GradMode.h>

#include "models/dit/dit_config.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"

namespace wan::parity {

WanModel build_case_dit(const ParityCase& c, TensorMap* weights) {
  // The case's config is the constructor's arguments; absent ones take the defaults.
  const DiTConfig config = DiTConfig::from_json_text(c.config().dump(), c.file("config").string());
  // Built on the device in the compute dtype (float32 islands stay float32), then loaded.
  WanModel model(config, at::TensorOptions().device(c.device()).dtype(c.dtype()), ParameterInit::Uninitialized);
  TensorMap loaded = load_safetensors(c.file("weights").string());
  load_state_dict(*model, loaded, c.file("weights").string());
  model->eval();
  if (weights) *weights = std::move(loaded);
  return model;
}

std::vector<at::Tensor> run_case_dit(WanModelImpl& model, const ParityCase& c) {
  const at::Tensor clip_fea = c.has("in.clip_fea") ? c.tensor("in.clip_fea") : at::Tensor();
  const std::vector<at::Tensor> y = c.has("in.y.0") ? c.tensor_list("in.y") : std::vector<at::Tensor>{};
  c10::AutoGradMode no_grad(false);
  return model.forward(c.tensor_list("in.x"), c.tensor("in.t"), c.tensor_list("in.context"),
                       c.args().at("seq_len").get<int64_t>(), clip_fea, y);
}

namespace {

void run(const ParityCase& c, ParityReport& report) {
  WanModel model = build_case_dit(c);
  report.compare_list("out.pred", run_case_dit(*model, c), c.tensor_list("out.pred"));
}

ParityKind reg("dit", run);

}  // namespace
}  // namespace wan::parity
