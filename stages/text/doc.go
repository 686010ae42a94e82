// Package text holds text stages. text.tokenize turns a string column into
// Llama-2 token ids with the project's SentencePiece tokenizer
// (tokenizer package): a list<int32> column, the token count, and whether
// the row was truncated to max_tokens.
//
// Truncation keeps BOS/EOS: with max_tokens M, at most M ids are emitted
// including them. "right" keeps the start of the text, "left" its end,
// "fail" stops the run naming the record. Null texts give null ids.
//
// Not implemented here: section extraction (report.sections), embeddings
// (text.embed).
package text
