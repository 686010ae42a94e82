// Package tokenizer implements SentencePiece BPE tokenization exactly as
// Llama-2 uses it, in pure Go, with no dependency on the pipeline or Arrow.
//
// # Loading
//
//	tok, err := tokenizer.Load("tokenizer.model") // SentencePiece ModelProto
//	tok, err := tokenizer.Load("tokenizer.json")  // Hugging Face BPE (Llama layout)
//
// Load sniffs the format (a file starting with '{' is JSON); LoadModel and
// LoadHFJSON force one. Errors name the file and say what is wrong (not a
// protobuf, model type UNIGRAM, no pieces, no <unk>, unsupported normalizer,
// ...). The ModelProto is parsed by hand with encoding/protowire
// (ParseModelProto) and can be written back (ModelProto.Marshal), so that
// models built in Go can be fed to spm_encode.
//
// # Encoding and decoding
//
//	ids := tok.Encode("No acute findings.")               // []int32
//	dst = tok.EncodeAppend(dst[:0], text)                 // reuse a buffer: no allocation
//	dst = tok.EncodeAppendBytes(dst[:0], b)               // text in a []byte (not retained)
//	n := tok.Count(text)                                  // number of ids, no output slice
//	tok = tok.WithOptions(tokenizer.Options{AddBOS: true}) // <s>=1 first; AddEOS: </s>=2 last
//	text, err := tok.Decode(ids)
//
// A Tokenizer is immutable and safe for concurrent use; scratch buffers come
// from a sync.Pool, so steady-state EncodeAppend into a buffer with enough
// capacity performs no allocation (checked with testing.AllocsPerRun).
//
// # What is implemented (identical ids to SentencePiece 0.1.97 spm_encode)
//
//   - BPE model type with the encoding of bpe_model.cc: the text is split into
//     characters (code points) and user-defined symbols (longest match, never
//     merged); the adjacent pair whose concatenation is a piece (NORMAL,
//     USER_DEFINED or UNUSED) with the highest score is merged, leftmost
//     first on equal scores, until no pair is a piece; UNUSED pieces are
//     then split back into the pair they were last formed from (rev_merge).
//   - Identity normalization (Llama-2: normalizer "identity", no NFKC):
//     add_dummy_prefix (leading U+2581), spaces to U+2581 (escape_whitespaces),
//     remove_extra_whitespaces true or false (Llama-2: false, so runs of
//     spaces are kept and merged into whitespace-only pieces such as "▁▁▁▁"),
//     treat_whitespace_as_suffix.
//   - Invalid UTF-8: as SentencePiece's normalizer, every byte that does not
//     start a valid UTF-8 sequence (bad lead byte, truncated sequence,
//     overlong form, surrogate, > U+10FFFF) becomes one U+FFFD, which then
//     tokenizes like any other character (Llama-2: the piece "�" or its
//     bytes <0xEF><0xBF><0xBD>). A literal U+2581 in the input is
//     indistinguishable from a space.
//   - Characters that are not pieces: byte_fallback to the <0xNN> pieces of
//     their UTF-8 bytes, or (without byte_fallback) <unk>, one per run of
//     unknown characters as PopulateSentencePieceText does.
//   - Special ids from the model (Llama-2: <unk>=0, <s>=1, </s>=2, no pad);
//     BOS/EOS only on request (spm_encode --extra_options=bos:eos).
//   - Decode as SentencePieceProcessor::Decode: control pieces vanish, <unk>
//     becomes unk_surface (" ⁇ "), U+2581 becomes ' ', consecutive byte
//     pieces are joined and every invalid byte of them becomes U+FFFD, and
//     the leading U+2581 of the first piece (the dummy prefix) is dropped.
//     Decode(Encode(s)) == s for Llama-2 once invalid bytes are read as
//     U+FFFD and U+2581 as ' ' (fuzz-tested).
//   - Hugging Face tokenizer.json with model BPE, byte_fallback, a
//     Prepend("▁")+Replace(" ","▁") normalizer or a Metaspace(split=false)
//     pre-tokenizer, special added tokens, merges as "a b" strings or pairs.
//     Merge priority is the merges order (HF semantics); for Llama-2 this
//     gives the same ids as tokenizer.model.
//   - Llama-2 vocabulary rebuilding from the npm package llama-tokenizer-js
//     (ReadLlama2NPM, Llama2Vocab.ModelProto, Llama2Vocab.HFJSON,
//     BuildLlama2Files; `go run ./tokenizer/cmd/llama2model -out PATH`). The
//     vocabulary is fetched by `make tokenizer-deps` into .cache/npm/ and is
//     never committed (Llama 2 Community License).
//
// # What is not implemented
//
//   - Unigram, WORD and CHAR models (rejected with an error).
//   - Normalization rules with a precompiled_charsmap (nmt_nfkc, nfkc_cf,
//     custom TSV rules), escape_whitespaces=false, denormalizer_spec
//     (all rejected with an error, never silently ignored).
//   - Sampling (BPE-dropout), n-best, the SentencePieceText proto with piece
//     surfaces and byte offsets, extra options "reverse" and "unk_piece".
//   - In tokenizer.json: non-special added tokens (they would be matched in
//     the raw text before normalization), ByteLevel/Whitespace/regex
//     pre-tokenizers, normalizers other than the Llama ones, dropout,
//     continuing_subword_prefix. Merges whose operands or result are
//     special or byte pieces are ignored. HF input is always valid UTF-8;
//     for invalid input this package applies the SentencePiece rule.
//   - Texts of 2 GiB or more in one call.
//   - Vocabularies with a one-character CONTROL/BYTE piece: spm_encode fails
//     on text containing that character; this package outputs the id.
//
// # Speed
//
// Neighbouring symbols that no piece can span (for Llama-2: before every
// U+2581 that follows a non-space, since no piece has U+2581 after another
// character; around unknown characters and user-defined symbols) split the
// text into independent segments; this is derived from the vocabulary at
// load time and does not change results. Short segments are merged by
// rescanning their pairs, long ones with a binary heap over candidate pairs
// and a linked list of symbols, exactly as bpe_model.cc. Pair lookups use a
// precomputed open-addressing table keyed by the two symbol ids (no string
// hashing). Models with UNUSED pieces are merged as one segment with the
// heap, because resegmentation depends on the global merge order.
//
// For byte-fallback models without user-defined or UNUSED pieces whose
// pieces never have U+2581 after another character (Llama-2), the words
// "▁*[^▁]*" of the normalized text are independent, and their ids are kept
// in a small per-scratch cache (8192 words, ~450 KB per concurrently
// encoding goroutine, emptied when full; no allocation after first use).
// Repeated words (the common case in clinical text) are then a hash lookup
// and a copy. The tests check every strategy (heap, linear, cache) against
// spm_encode. `make tokenizer-bench` compares with libsentencepiece on the
// same documents; BenchmarkEncode/*-nocache gives the speed without the
// cache.
//
// # Using it from a pipeline stage (guidance for text.tokenize)
//
//   - Load once per stage instance (Load takes ~100 ms for Llama-2 and
//     builds ~4 MB of tables) and share the *Tokenizer across all workers; do not
//     load per batch. Configure BOS/EOS once with WithOptions.
//   - Per worker goroutine keep one []int32 scratch and call
//     EncodeAppend(scratch[:0], text) (or EncodeAppendBytes on a column's
//     value bytes) per row, then copy the ids into the output builder
//     (e.g. an Arrow list<int32> builder: append the offsets, then the
//     values in one AppendValues call). Alternatively append every row of a
//     batch into one growing []int32 and record the offsets: that is one
//     allocation per batch at most.
//   - A null row should stay null (do not encode ""); an empty string encodes
//     to zero ids (plus BOS/EOS if enabled).
//   - Each row is one SentencePiece "sentence": newlines inside a row are
//     ordinary characters (Llama-2: <0x0A>), exactly as with the Python
//     sentencepiece library. Do not split rows on newlines unless the stage
//     wants per-line semantics (spm_encode's).
//   - For long documents and context windows, encode the whole text and
//     chunk the ids; use Count for length-only statistics.
//   - Decode (for previews/debugging) is the inverse up to U+FFFD for
//     invalid UTF-8 and U+2581 read as space.
//   - Keep the word cache on (the default): each concurrently encoding
//     goroutine gets its own ~450 KB cache through the sync.Pool. Set
//     Options.NoWordCache only if that memory matters more than speed.
//   - Errors happen only at load time; Encode never fails. Decode fails only
//     on ids outside [0, VocabSize()).
package tokenizer
