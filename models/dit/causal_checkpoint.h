// The checkpoints of causal (chunk-wise autoregressive) Wan2.1 DiTs. Self-Forcing (and
// CausVid) release them as training checkpoints: one torch.save file (self_forcing_dmd.pt)
// holding {"generator": state_dict, "generator_ema": state_dict, maybe "critic": ...}, whose
// names carry the training wrapper's "model." prefix (or none). The causal model has exactly
// the bidirectional one's parameter names, so only this layout tells the two apart.
#pragma once
#include <string>

#include "models/weights/tensor_map.h"

namespace wan {

enum class DiTKind { Bidirectional, Causal };
const char* to_string(DiTKind kind);

// Which kind of DiT the checkpoint at `path` holds: a torch.save file (.pt, .pth, .ckpt)
// with a "generator" or "generator_ema" dict, or a folder holding one and no official /
// diffusers DiT, is causal; the official, diffusers and single-file (ComfyUI) DiTs are
// bidirectional. Reads no weights. Throws wan::Error when the path holds no DiT.
DiTKind dit_checkpoint_kind(const std::string& path);

// The torch.save file of a causal checkpoint (`path` itself, or the one file of a folder).
std::string causal_checkpoint_file(const std::string& path);

// The generator's weights under the official names: "generator_ema" where the file has it
// (what Self-Forcing's demo and `inference.py --use_ema` load), else "generator"; the
// "model." prefix and FSDP's wrapper names removed. Only those storages are read.
TensorMap read_causal_generator(const std::string& path);

}  // namespace wan
