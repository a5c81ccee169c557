// libFuzzer target: the state_dict pickle reader of .pth files must reject any
// input with wan::Error and never crash, hang, leak or read out of bounds.
#include <cstdint>

#include "models/common/error.h"
#include "models/weights/pth_pickle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    wan::pth::read_state_dict_pickle(data, size, "fuzz");
  } catch (const wan::Error&) {
  }
  return 0;
}
