// spm_bench: single-threaded libsentencepiece encoding throughput.
//
//   spm_bench MODEL DOCS_FILE
//
// DOCS_FILE holds one document per line. For every line "run" read on
// stdin, it encodes every document once with
// SentencePieceProcessor::Encode(text, std::vector<int>*) (the id API) and
// prints "tokens <n> wall <seconds> cpu <thread cpu seconds>". tokbench
// drives it so that medflow and libsentencepiece runs alternate.
// Built by `make tokenizer-bench` (g++ against libsentencepiece-dev).
#include <sentencepiece_processor.h>

#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: spm_bench MODEL DOCS_FILE\n";
    return 2;
  }
  sentencepiece::SentencePieceProcessor sp;
  const auto status = sp.Load(argv[1]);
  if (!status.ok()) {
    std::cerr << "spm_bench: " << status.ToString() << "\n";
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) {
    std::cerr << "spm_bench: cannot open " << argv[2] << "\n";
    return 1;
  }
  std::vector<std::string> docs;
  for (std::string line; std::getline(in, line);) docs.push_back(line);
  std::vector<int> ids;
  auto thread_cpu = [] {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  };
  for (std::string cmd; std::getline(std::cin, cmd);) {
    if (cmd != "run") break;
    long long tokens = 0;
    const double c0 = thread_cpu();
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& d : docs) {
      ids.clear();
      sp.Encode(d, &ids);
      tokens += ids.size();
    }
    const auto t1 = std::chrono::steady_clock::now();
    const double c1 = thread_cpu();
    const double s = std::chrono::duration<double>(t1 - t0).count();
    std::printf("tokens %lld wall %.6f cpu %.6f\n", tokens, s, c1 - c0);
    std::fflush(stdout);
  }
  return 0;
}
