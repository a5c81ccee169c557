// Parameter-name layouts other than the official Wan2.1 one, and their
// conversion to official names. One table (checkpoint_layout.cpp) holds a
// row per renamed tensor pattern, for every model family; detection picks the
// layout whose rows explain the checkpoint's names.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "models/weights/tensor_map.h"

namespace wan {

enum class ModelFamily { DiT, VAE, T5, CLIP };

// How a row's tensors are combined or reshaped on the way to the official name.
enum class LayoutTransform {
  Rename,       // same tensor, new name
  ConcatDim0,   // several source tensors ({part} = each of `parts`) concatenated on dim 0
  AddUnitDims,  // same tensor with `unit_dims` leading size-1 axes: [D] -> [1, 1, D]
};

struct LayoutRule {
  ModelFamily family;
  const char* layout;  // "diffusers", "comfyui", ...
  // Patterns over dotted names: "{i}" matches a decimal index, "{*}" matches
  // the rest of the name (possibly with dots); "{part}" with ConcatDim0.
  const char* from;
  const char* to;
  LayoutTransform transform = LayoutTransform::Rename;
  const char* parts = nullptr;  // comma-separated values of {part}, in concat order
  int unit_dims = 0;            // with AddUnitDims
};

// Prefixes stripped before anything else (ComfyUI single files, open-clip's visual tower).
struct LayoutPrefix {
  ModelFamily family;
  const char* layout;
  const char* prefix;
  // The names without the prefix belong to another model stored beside this one (open-clip's
  // text tower) and are dropped.
  bool others_dropped = false;
};

const std::vector<LayoutRule>& layout_rules();
const std::vector<LayoutPrefix>& layout_prefixes();

// Converts `weights` to the official names of `family`: strips a known prefix,
// then applies the layout whose rows match the most names (names no row
// matches are kept: many are the same in every layout). A checkpoint no row
// matches is "official". Sets *layout to what was detected. Names that are
// still wrong are reported by load_state_dict.
TensorMap to_official_names(ModelFamily family, TensorMap weights, std::string* layout = nullptr);

// One name of `layout` under its official name (Rename rows only; the prefixes are not
// stripped); nullopt when no row of that layout matches it.
std::optional<std::string> official_name(ModelFamily family, const std::string& layout, const std::string& name);

// The inverse (official -> `layout`), for tests that build checkpoints in
// other layouts. Rename rows only.
TensorMap from_official_names(ModelFamily family, const std::string& layout, const TensorMap& weights);

}  // namespace wan
