// kind "taehv": TAEW2.1's decoder (models/taehv), the full decode and the preview decode
// without temporal upscaling, each decoded in chunks and all at once.

#include "models/taehv/taehv_decoder.h"
#include "tests/parity/parity_case.h"

namespace wan::parity {
namespace {

void run(const ParityCase& c, ParityReport& report) {
  const at::Tensor latents = c.tensor("in.latents")[0];  // [F, 16, h, w]
  const std::string weights = c.file("weights").string();
  for (const bool upscale : {true, false}) {
    const std::string name = upscale ? "out.video" : "out.preview";
    const auto decoder = taehv::load_taehv_decoder(weights, c.device(), c.dtype(), {upscale});
    const at::Tensor expected = c.tensor(name)[0].cpu();
    report.compare(name, decoder->decode(latents, latents.size(0)).to(at::kCPU, at::kFloat), expected);
    // Chunks of 2 latent frames: the MemBlocks' memory crosses the chunk boundary.
    report.compare(name + " (chunks of 2)", decoder->decode(latents, 2).to(at::kCPU, at::kFloat), expected);
  }
}

ParityKind reg("taehv", run);

}  // namespace
}  // namespace wan::parity
