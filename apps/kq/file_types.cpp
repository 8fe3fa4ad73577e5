// llama.cpp's file types (formats.md A.7).
#include "apps/kq/file_types.h"

#include <utility>

namespace kq::app {

namespace {
struct FileType {
  int64_t id;
  const char* name;
};
constexpr FileType kFileTypes[] = {
    {0, "F32"},      {1, "F16"},      {2, "Q4_0"},     {3, "Q4_1"},    {7, "Q8_0"},     {8, "Q5_0"},
    {9, "Q5_1"},     {10, "Q2_K"},    {11, "Q3_K_S"},  {12, "Q3_K_M"}, {13, "Q3_K_L"},  {14, "Q4_K_S"},
    {15, "Q4_K_M"},  {16, "Q5_K_S"},  {17, "Q5_K_M"},  {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"},
    {21, "Q2_K_S"},  {22, "IQ3_XS"},  {23, "IQ3_XXS"}, {24, "IQ1_S"},  {25, "IQ4_NL"},  {26, "IQ3_S"},
    {27, "IQ3_M"},   {28, "IQ2_S"},   {29, "IQ2_M"},   {30, "IQ4_XS"}, {31, "IQ1_M"},   {32, "BF16"},
    {36, "TQ1_0"},   {37, "TQ2_0"},
};
}  // namespace

std::string file_type_name(int64_t ftype) {
  for (const FileType& f : kFileTypes)
    if (f.id == ftype) return f.name;
  return "unknown (" + std::to_string(ftype) + ")";
}

std::optional<uint32_t> file_type_for(QType t) {
  // The file type llama-quantize records for a file whose weights are all of type t.
  static constexpr std::pair<QType, uint32_t> kSingleType[] = {
      {QType::F32, 0},   {QType::F16, 1},   {QType::Q4_0, 2},    {QType::Q4_1, 3},    {QType::Q8_0, 7},
      {QType::Q5_0, 8},  {QType::Q5_1, 9},  {QType::Q2_K, 10},   {QType::Q3_K, 11},   {QType::Q4_K, 14},
      {QType::Q5_K, 16}, {QType::Q6_K, 18}, {QType::IQ4_NL, 25}, {QType::IQ4_XS, 30}, {QType::BF16, 32},
  };
  for (const auto& [type, ftype] : kSingleType)
    if (type == t) return ftype;
  return std::nullopt;
}

}  // namespace kq::app
