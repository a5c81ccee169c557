// Reader for checkpoints written by torch.save (the zip format of PyTorch >= 1.6):
// <archive>/data.pkl (the pickled state_dict) + <archive>/data/<key> (raw
// little-endian storages). The pickle is interpreted by the strict reader of
// pth_pickle.h, never executed.
#pragma once
#include <string>
#include <vector>

#include "models/weights/tensor_map.h"

namespace wan {

// Every tensor of the state_dict on the CPU, in its stored dtype, with the
// stored offset, sizes and strides (tensors saved as views of one storage
// share it). Throws wan::Error for anything that is not such a file.
// Dicts nested in the pickle are flattened ("generator_ema.model.blocks.0...."); with
// `prefix` only the tensors whose names start with it are read (their storages alone),
// named without it.
TensorMap load_pth(const std::string& path, const std::string& prefix = "");

// The tensor names of a torch.save file in file order, nested dicts flattened as above,
// without reading any storage.
std::vector<std::string> pth_tensor_names(const std::string& path);

}  // namespace wan
