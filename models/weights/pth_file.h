// Reader for checkpoints written by torch.save (the zip format of PyTorch >= 1.6):
// <archive>/data.pkl (the pickled state_dict) + <archive>/data/<key> (raw
// little-endian storages). The pickle is interpreted by the strict reader of
// pth_pickle.h, never executed.
#pragma once
#include <string>

#include "models/weights/tensor_map.h"

namespace wan {

// Every tensor of the state_dict on the CPU, in its stored dtype, with the
// stored offset, sizes and strides (tensors saved as views of one storage
// share it). Throws wan::Error for anything that is not such a file.
TensorMap load_pth(const std::string& path);

}  // namespace wan
