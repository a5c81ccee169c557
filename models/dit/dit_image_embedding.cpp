#include "models/dit/dit_image_embedding.h"
#include "models/common/parameter_init.h"

#include <torch/nn/modules/activation.h>

#include "models/dit/precision.h"

namespace wan::dit {

ImageEmbeddingImpl::ImageEmbeddingImpl(int64_t dim, bool first_last_frame) {
  norm_in = torch::nn::LayerNorm(torch::nn::LayerNormOptions({kFeatureDim}).eps(1e-5));
  fc1 = make_linear(kFeatureDim, kFeatureDim);
  fc2 = make_linear(kFeatureDim, dim);
  norm_out = torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5));
  proj = register_module("proj", torch::nn::Sequential(norm_in, fc1, torch::nn::GELU(), fc2, norm_out));
  if (first_last_frame) emb_pos = register_parameter("emb_pos", at::zeros({1, 2 * kTokensPerImage, kFeatureDim}));
}

at::Tensor ImageEmbeddingImpl::forward(const at::Tensor& clip_fea) {
  at::Tensor x = clip_fea.to(at::kFloat);
  if (emb_pos.defined()) x = x.reshape({-1, 2 * x.size(1), x.size(2)}) + emb_pos;
  // The LayerNorms stay float32; the Linears run in the compute dtype.
  x = norm_in->forward(x);
  x = at::gelu(run_linear(fc1, x));
  return norm_out->forward(run_linear(fc2, x).to(at::kFloat));
}

void ImageEmbeddingImpl::set_compute_dtype(at::ScalarType dtype) {
  fc1->to(dtype);
  fc2->to(dtype);
}

}  // namespace wan::dit
