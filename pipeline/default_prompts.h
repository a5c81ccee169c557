// The official default negative prompts (wan/configs): the shared one for
// t2v, prefixed with "camera shake" for i2v and "shot change" for flf2v.
#pragma once
#include <string>

#include "pipeline/request.h"

namespace wan {

std::string default_negative_prompt(Task task);

}  // namespace wan
