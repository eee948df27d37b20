// The fuzz targets without libFuzzer: runs LLVMFuzzerTestOneInput once over each file given, or over
// every file below each directory given, so the corpora and the crashers found so far replay as
// ordinary tests in the g++ build. A finding aborts (the sanitizers or the target's own checks).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace fs = std::filesystem;

namespace {

std::vector<fs::path> inputsOf(const fs::path& arg) {
  std::vector<fs::path> out;
  if (fs::is_directory(arg)) {
    for (const auto& entry : fs::recursive_directory_iterator(arg))
      if (entry.is_regular_file() && entry.path().filename().string()[0] != '.') out.push_back(entry.path());
    std::sort(out.begin(), out.end());  // a stable order, so a failure names the same file every run
  } else if (fs::exists(arg)) {
    out.push_back(arg);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    for (const fs::path& p : inputsOf(argv[i])) {
      std::ifstream in(p, std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "Cannot read %s.\n", p.c_str());
        return 1;
      }
      std::fprintf(stderr, "Running %s (%zu bytes).\n", p.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(bytes.data(), bytes.size());
      ++runs;
    }
  }
  std::printf("%zu inputs ran without a finding.\n", runs);
  return 0;
}
