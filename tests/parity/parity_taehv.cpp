// kind "taehv": TAEW2.1's decoder (models/taehv), the full decode and the preview decode
// without temporal upscaling, each decoded in chunks and all at once. The weights come from
// files.weights, or are rebuilt from case.json's weights_init (taehv_reference_init.h).

#include "models/taehv/taehv_decoder.h"
#include "models/weights/checkpoint_file.h"
#include "tests/parity/parity_case.h"
#include "tests/parity/taehv_reference_init.h"

namespace wan::parity {
namespace {

void run(const ParityCase& c, ParityReport& report) {
  const at::Tensor latents = c.tensor("in.latents")[0];  // [F, 16, h, w]
  const bool stored = c.meta().at("files").contains("weights");
  const TensorMap weights =
      stored ? load_checkpoint_file(c.file("weights").string()) : taehv_reference_weights(c.meta().at("weights_init"));
  for (const bool upscale : {true, false}) {
    const std::string name = upscale ? "out.video" : "out.preview";
    const auto decoder = taehv::load_taehv_decoder(weights, c.dir().string(), c.device(), c.dtype(), {upscale});
    const at::Tensor expected = c.tensor(name)[0].cpu();
    report.compare(name, decoder->decode(latents, latents.size(0)).to(at::kCPU, at::kFloat), expected);
    // Chunks of 2 latent frames: the MemBlocks' memory crosses the chunk boundary.
    report.compare(name + " (chunks of 2)", decoder->decode(latents, 2).to(at::kCPU, at::kFloat), expected);
  }
}

ParityKind reg("taehv", run);

}  // namespace
}  // namespace wan::parity
