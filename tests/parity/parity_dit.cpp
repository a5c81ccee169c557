// kind "dit": WanModel.forward on a batch given as lists (t2v, i2v, flf2v).
#include <c10/core/GradMode.h>

#include "models/dit/dit_config.h"
#include "models/dit/wan_model.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "tests/parity/parity_case.h"

namespace {

void run(const wan::parity::ParityCase& c, wan::parity::ParityReport& report) {
  // The case's config is the constructor's arguments; absent ones take the defaults.
  const wan::DiTConfig config = wan::DiTConfig::from_json_text(c.config().dump(), c.file("config").string());
  // Built on the device in the compute dtype (float32 islands stay float32), then loaded.
  wan::WanModel model(config, at::TensorOptions().device(c.device()).dtype(c.dtype()),
                      wan::ParameterInit::Uninitialized);
  wan::load_state_dict(*model, wan::load_safetensors(c.file("weights").string()), c.file("weights").string());
  model->eval();

  const at::Tensor clip_fea = c.has("in.clip_fea") ? c.tensor("in.clip_fea") : at::Tensor();
  const std::vector<at::Tensor> y = c.has("in.y.0") ? c.tensor_list("in.y") : std::vector<at::Tensor>{};
  c10::AutoGradMode no_grad(false);
  const std::vector<at::Tensor> pred =
      model->forward(c.tensor_list("in.x"), c.tensor("in.t"), c.tensor_list("in.context"),
                     c.args().at("seq_len").get<int64_t>(), clip_fea, y);
  report.compare_list("out.pred", pred, c.tensor_list("out.pred"));
}

wan::parity::ParityKind reg("dit", run);

}  // namespace
