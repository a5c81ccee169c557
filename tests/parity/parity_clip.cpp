// kind "clip": the vision tower on normalised pixels with use_31_block true
// (out.features) and false (out.features_all_blocks), then CLIPModel.visual
// on raw [-1, 1] videos: the preprocessing (out.preprocessed) and the
// features (out.visual).
#include "models/clip/clip_loader.h"
#include "models/weights/model_weights.h"
#include "models/weights/safetensors.h"
#include "models/weights/state_dict.h"
#include "tests/parity/parity_case.h"

namespace {

void run(const wan::parity::ParityCase& c, wan::parity::ParityReport& report) {
  const wan::ClipVisionConfig config = wan::ClipVisionConfig::from_json(c.config());
  wan::VisionTransformer tower(config);
  const std::string weights = c.file("weights").string();
  // The case's file holds the whole reference tower; head and post_norm are
  // dropped as for a released checkpoint.
  wan::load_state_dict(
      *tower, wan::prepare_weights(wan::ModelFamily::CLIP, wan::load_safetensors(weights), weights, {}).tensors,
      weights);
  tower->to(c.device());
  tower->eval();

  const at::Tensor pixels = c.tensor("in.pixels");
  report.compare("out.features", tower->forward(pixels, /*use_31_block=*/true), c.tensor("out.features"));
  report.compare("out.features_all_blocks", tower->forward(pixels, /*use_31_block=*/false),
                 c.tensor("out.features_all_blocks"));

  const std::vector<at::Tensor> videos = c.tensor_list("in.video");
  report.compare("out.preprocessed", wan::clip_preprocess(videos, config), c.tensor("out.preprocessed"));
  wan::ClipVisionEncoder encoder(tower, c.device(), at::kFloat);
  report.compare("out.visual", encoder.encode_video(videos), c.tensor("out.visual"));
}

wan::parity::ParityKind reg("clip", run);

}  // namespace
