#include "pipeline/default_prompts.h"

namespace wan {
namespace {

// wan/configs/shared_config.py: sample_neg_prompt.
constexpr const char* kSharedNegativePrompt =
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，"
    "丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画"
    "面，杂乱的背景，三条腿，背景人很多，倒着走";

}  // namespace

std::string default_negative_prompt(Task task) {
  switch (task) {
    case Task::ImageToVideo: return std::string("镜头晃动，") + kSharedNegativePrompt;           // "camera shake, "
    case Task::FirstLastFrameToVideo: return std::string("镜头切换，") + kSharedNegativePrompt;  // "shot change, "
    case Task::TextToVideo: break;
  }
  return kSharedNegativePrompt;
}

}  // namespace wan
