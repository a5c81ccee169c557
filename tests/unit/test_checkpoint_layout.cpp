// The name-conversion table: prefix stripping, detection, and round trips
// through every layout of the table.
#include <set>

#include <ATen/ATen.h>

#include "models/weights/checkpoint_layout.h"
#include "tests/unit/check.h"

namespace {

void official_passes_unchanged() {
  wan::TensorMap w;
  w["blocks.0.self_attn.q.weight"] = at::ones({2, 2});
  w["head.head.bias"] = at::zeros({2});
  std::string layout;
  const auto out = wan::to_official_names(wan::ModelFamily::DiT, w, &layout);
  EXPECT(layout == "official");
  EXPECT(out.size() == 2 && out.count("blocks.0.self_attn.q.weight") == 1);
}

void comfyui_prefix_is_stripped() {
  wan::TensorMap w;
  w["model.diffusion_model.blocks.0.self_attn.q.weight"] = at::ones({2, 2});
  w["model.diffusion_model.head.head.bias"] = at::zeros({2});
  std::string layout;
  const auto out = wan::to_official_names(wan::ModelFamily::DiT, w, &layout);
  EXPECT(layout == "comfyui");
  EXPECT(out.count("blocks.0.self_attn.q.weight") == 1 && out.count("head.head.bias") == 1);
}

// Every Rename row must survive official -> layout -> official.
void every_layout_round_trips() {
  std::set<std::pair<int, std::string>> layouts;
  for (const auto& r : wan::layout_rules())
    if (r.transform == wan::LayoutTransform::Rename) layouts.insert({static_cast<int>(r.family), r.layout});
  for (const auto& [family, layout] : layouts) {
    wan::TensorMap official;
    int n = 0;
    for (const auto& r : wan::layout_rules()) {
      if (static_cast<int>(r.family) != family || layout != r.layout || r.transform != wan::LayoutTransform::Rename)
        continue;
      std::string name = r.to;
      for (auto [from, to] : {std::pair<std::string, std::string>{"{i}", "3"}, {"{*}", "weight"}})
        for (size_t p; (p = name.find(from)) != std::string::npos;) name.replace(p, from.size(), to);
      official[name] = at::full({1}, static_cast<float>(n++));
    }
    const auto converted = wan::from_official_names(static_cast<wan::ModelFamily>(family), layout, official);
    std::string detected;
    const auto back = wan::to_official_names(static_cast<wan::ModelFamily>(family), converted, &detected);
    EXPECT_MSG(detected == layout, layout + " detected as " + detected);
    EXPECT_MSG(back.size() == official.size(), layout);
    for (const auto& [name, t] : official)
      EXPECT_MSG(back.count(name) && at::equal(back.at(name), t), layout + ": " + name);
  }
}

}  // namespace

// A crafted name of 30k+ characters overflowed the stack inside std::regex_match (SIGSEGV).
void overlong_names_are_refused() {
  wan::TensorMap w;
  w["proj_out." + std::string(40000, 'a')] = at::zeros({1});
  std::string layout;
  EXPECT_ERROR(wan::to_official_names(wan::ModelFamily::DiT, w, &layout),
               "a tensor name of 40009 characters ('proj_out.aaaa");
  EXPECT_ERROR(wan::from_official_names(wan::ModelFamily::DiT, "diffusers", w), "tensor names are at most 1024");
  wan::TensorMap fine;
  fine["blocks.0." + std::string(900, 'b')] = at::zeros({1});
  EXPECT(wan::to_official_names(wan::ModelFamily::DiT, fine, &layout).size() == 1);
}

int main() {
  official_passes_unchanged();
  overlong_names_are_refused();
  comfyui_prefix_is_stripped();
  every_layout_round_trips();
  return wan::test::check_exit("test-checkpoint-layout");
}
