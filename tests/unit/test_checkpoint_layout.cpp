// The name-conversion table: prefix stripping, detection, and round trips
// through every layout of the table.
#include <random>
#include <regex>
#include <set>

#include <ATen/ATen.h>

#include "models/weights/checkpoint_layout.h"
#include "models/weights/name_pattern.h"
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

using Captures = std::vector<std::string>;

// The captures of `pattern` on `name`, or {"no match"}.
Captures captures_of(const std::string& pattern, const std::string& name, const char* parts = nullptr) {
  Captures c;
  return wan::NamePattern(pattern, parts).match(name, &c) ? c : Captures{"no match"};
}

void pattern_forms() {
  const Captures none{"no match"};
  // {i}: one or more digits, nothing else.
  EXPECT((captures_of("blocks.{i}.norm2.{*}", "blocks.12.norm2.weight") == Captures{"12", "weight"}));
  EXPECT(captures_of("blocks.{i}.norm2.{*}", "blocks.x.norm2.weight") == none);
  EXPECT(captures_of("blocks.{i}.norm2.{*}", "blocks.1a.norm2.weight") == none);
  EXPECT(captures_of("blocks.{i}.norm2.{*}", "blocks..norm2.weight") == none);
  EXPECT(captures_of("blocks.{i}.scale_shift_table", "blocks.-1.scale_shift_table") == none);
  // {*} at the end: the rest, dots included, never empty.
  EXPECT((captures_of("proj_out.{*}", "proj_out.lora_A.default.weight") == Captures{"lora_A.default.weight"}));
  EXPECT(captures_of("proj_out.{*}", "proj_out.") == none);
  EXPECT(captures_of("proj_out.{*}", "proj_out") == none);
  EXPECT(captures_of("proj_out.{*}", "xproj_out.weight") == none);
  // {i} then {*} (encoder.down_blocks.{i}.{*}): the index stops at the first dot.
  EXPECT((captures_of("down_blocks.{i}.{*}", "down_blocks.3.4.weight") == Captures{"3", "4.weight"}));
  // {*} in the middle: the longest that lets the rest match, as the regex's greedy (.+).
  EXPECT((captures_of("a.{*}.b", "a.x.b.y.b") == Captures{"x.b.y"}));
  EXPECT(captures_of("a.{*}.b", "a..b") == none);
  EXPECT(captures_of("a.{*}.b", "a.x.bc") == none);
  // {part}: one of the values, the first that fits.
  const char* qkv = "vision_model.encoder.layers.{i}.self_attn.{part}_proj.weight";
  EXPECT((captures_of(qkv, "vision_model.encoder.layers.7.self_attn.k_proj.weight", "q,k,v") == Captures{"7", "k"}));
  EXPECT(captures_of(qkv, "vision_model.encoder.layers.7.self_attn.x_proj.weight", "q,k,v") == none);
  EXPECT(captures_of(qkv, "vision_model.encoder.layers.7.self_attn.qk_proj.weight", "q,k,v") == none);
  EXPECT(captures_of(qkv, "vision_model.encoder.layers.7.self_attn._proj.weight", "q,k,v") == none);
  EXPECT((captures_of("{part}{*}", "abc", "a,ab") == Captures{"a", "bc"}));
  // Literals: the whole name, exactly.
  EXPECT(captures_of("scale_shift_table", "scale_shift_table") == Captures{});
  EXPECT(captures_of("scale_shift_table", "scale_shift_tables") == none);
  EXPECT(captures_of("scale_shift_table", "scale_shift_tabl") == none);
}

// The regex the table's patterns compiled to before NamePattern.
std::regex old_regex(const std::string& pattern, const char* parts) {
  std::string re;
  for (size_t i = 0; i < pattern.size();) {
    if (pattern.compare(i, 3, "{i}") == 0) {
      re += "(\\d+)", i += 3;
    } else if (pattern.compare(i, 3, "{*}") == 0) {
      re += "(.+)", i += 3;
    } else if (pattern.compare(i, 6, "{part}") == 0) {
      std::string alt = parts ? parts : "";
      for (auto& c : alt)
        if (c == ',') c = '|';
      re += "(" + alt + ")", i += 6;
    } else {
      const char c = pattern[i++];
      if (std::string(".[]()*+?^$|\\{}").find(c) != std::string::npos) re += '\\';
      re += c;
    }
  }
  return std::regex(re);
}

// Same answers and captures as the regex on short random names (where the regex is safe).
void agrees_with_the_old_regex() {
  const std::vector<std::pair<std::string, const char*>> patterns = {
      {"b.{i}.{*}", nullptr}, {"{*}.w", nullptr},       {"a{i}{*}", nullptr},
      {"{*}.{i}", nullptr},   {"{i}.{*}.{i}", nullptr}, {"{part}.{*}", "a,ab,"},
      {"x{part}{i}", "1,k"},  {"{*}{*}", nullptr},      {"{part}{*}", "a,ab,"},
  };
  const std::string alphabet = "ab.w1x2k\n";
  std::mt19937 rng(15);
  for (const auto& [pattern, parts] : patterns) {
    const std::regex re = old_regex(pattern, parts);
    const wan::NamePattern np(pattern, parts);
    for (int trial = 0; trial < 4000; ++trial) {
      std::string name(rng() % 9, ' ');
      for (auto& c : name) c = alphabet[rng() % alphabet.size()];
      std::smatch m;
      Captures expected{"no match"}, got;
      if (std::regex_match(name, m, re)) {
        expected.clear();
        for (size_t g = 1; g < m.size(); ++g) expected.push_back(m[g].str());
      }
      if (!np.match(name, &got)) got = {"no match"};
      EXPECT_MSG(got == expected, pattern + " on '" + name + "'");
    }
  }
}

// Linear time, no recursion per character: a million characters in every form.
void million_character_names() {
  const std::string mega(1000000, 'a');
  Captures c;
  EXPECT(wan::NamePattern("proj_out.{*}").match("proj_out." + mega, &c) && c.size() == 1 && c[0] == mega);
  EXPECT(wan::NamePattern("blocks.{i}.{*}").match("blocks." + std::string(1000000, '7') + ".w", &c) && c.size() == 2 &&
         c[0].size() == 1000000 && c[1] == "w");
  EXPECT(wan::NamePattern("a.{*}.b").match("a." + mega + ".b", &c) && c[0] == mega);
  EXPECT(!wan::NamePattern("a.{*}.b").match("a." + mega, &c));
  EXPECT(!wan::NamePattern("blocks.{i}.{*}").match("blocks." + std::string(1000000, '7'), &c));
  EXPECT(!wan::NamePattern("x.{part}_proj", "q,k,v").match("x." + mega + "_proj", &c));
  // Through the table the length guard answers first, with a clear message.
  wan::TensorMap w;
  w["proj_out." + mega] = at::zeros({1});
  std::string layout;
  EXPECT_ERROR(wan::to_official_names(wan::ModelFamily::DiT, w, &layout),
               "a tensor name of 1000009 characters ('proj_out.aaaa");
  EXPECT(!wan::official_name(wan::ModelFamily::DiT, "diffusers", "proj_out." + mega));
}

// The table's own forms through to_official_names: {i}, {*}, {part} (concatenated) and a
// name no row of the detected layout matches (kept).
void table_forms_convert() {
  wan::TensorMap w;
  w["vision_model.encoder.layers.4.self_attn.q_proj.weight"] = at::full({1, 2}, 1.0f);
  w["vision_model.encoder.layers.4.self_attn.k_proj.weight"] = at::full({1, 2}, 2.0f);
  w["vision_model.encoder.layers.4.self_attn.v_proj.weight"] = at::full({1, 2}, 3.0f);
  w["vision_model.encoder.layers.4.mlp.fc1.bias"] = at::zeros({2});
  w["vision_model.encoder.layers.x.mlp.fc1.bias"] = at::zeros({2});
  std::string layout;
  const auto out = wan::to_official_names(wan::ModelFamily::CLIP, w, &layout);
  EXPECT(layout == "transformers");
  EXPECT(out.size() == 3);
  EXPECT(
      out.count("transformer.4.attn.to_qkv.weight") &&
      at::equal(out.at("transformer.4.attn.to_qkv.weight"), at::tensor({1.f, 1.f, 2.f, 2.f, 3.f, 3.f}).view({3, 2})));
  EXPECT(out.count("transformer.4.mlp.0.bias") == 1);
  EXPECT(out.count("vision_model.encoder.layers.x.mlp.fc1.bias") == 1);
  EXPECT(wan::official_name(wan::ModelFamily::DiT, "diffusers", "blocks.5.attn2.to_out.0.lora.weight") ==
         "blocks.5.cross_attn.o.lora.weight");
  EXPECT(!wan::official_name(wan::ModelFamily::DiT, "diffusers", "blocks.five.attn2.to_out.0.weight"));
  EXPECT(!wan::official_name(wan::ModelFamily::DiT, "diffusers", "blocks.5.attn2.to_out.0."));
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
  pattern_forms();
  agrees_with_the_old_regex();
  million_character_names();
  table_forms_convert();
  overlong_names_are_refused();
  comfyui_prefix_is_stripped();
  every_layout_round_trips();
  return wan::test::check_exit("test-checkpoint-layout");
}
