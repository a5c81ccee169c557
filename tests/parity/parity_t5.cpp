// kind "t5": the umT5 encoder on stored token ids (out.hidden) and the
// per-prompt contexts trimmed to their tokens (out.context.*).
#include "models/t5/t5_encoder.h"
#include "models/t5/text_encoder.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "tests/parity/parity_case.h"

namespace {

void run(const wan::parity::ParityCase& c, wan::parity::ParityReport& report) {
  wan::T5Encoder model(wan::T5Config::from_json(c.config()));
  model->eval();
  const std::string weights = c.file("weights").string();
  wan::load_state_dict(*model, wan::load_safetensors(weights), weights);
  model->to(c.device());

  const at::Tensor ids = c.tensor("in.ids"), mask = c.tensor("in.mask");
  const at::Tensor hidden = model->forward(ids, mask);
  report.compare("out.hidden", hidden, c.tensor("out.hidden"));
  report.compare_list("out.context", wan::trim_to_mask(hidden, mask), c.tensor_list("out.context"));
}

wan::parity::ParityKind reg("t5", run);

}  // namespace
