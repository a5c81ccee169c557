#include "pipeline/pipeline.h"

#include "pipeline/wan_pipeline.h"

namespace wan {

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
  return std::make_shared<WanPipeline>(options, on_progress);
}

}  // namespace wan
