#include "pipeline/pipeline.h"

#include "models/common/error.h"
#include "models/dit/causal_checkpoint.h"
#include "pipeline/checkpoint_folder.h"
#include "pipeline/wan_pipeline.h"

namespace wan {
namespace {

// A causal (Self-Forcing) DiT makes video chunk by chunk only (LiveStream): say so before
// loading it as a clip model. Paths without a DiT are left to WanPipeline's errors.
void refuse_causal_dit(const std::string& model_path) {
  std::string dit;
  DiTKind kind = DiTKind::Bidirectional;
  try {
    dit = locate_checkpoint_files(model_path).dit;
    kind = dit_checkpoint_kind(dit);
  } catch (const Error&) {
    return;
  }
  if (kind == DiTKind::Causal)
    throw Error(dit + " holds a " + to_string(kind) +
                " (chunk-wise, Self-Forcing) Wan2.1 DiT: it generates in live mode only (live=true); clips need a "
                "bidirectional Wan2.1 checkpoint");
}

}  // namespace

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Load: return "load";
    case Phase::Encode: return "encode";
    case Phase::Denoise: return "denoise";
    case Phase::Decode: return "decode";
  }
  return "?";
}

std::shared_ptr<Pipeline> Pipeline::load(const PipelineOptions& options,
                                         const std::function<void(const Progress&)>& on_progress) {
  refuse_causal_dit(options.model_path);
  return std::make_shared<WanPipeline>(options, on_progress);
}

}  // namespace wan
