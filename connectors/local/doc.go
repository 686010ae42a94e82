// Package local implements objstore.Store over a folder of the local file
// system, the embedded default store of medflow.
//
// Keys map to files under the root folder; every file access goes through
// an os.Root opened for that operation (a Store holds no handle and needs
// no Close), so neither ".." nor a symlink can reach outside the root
// (attempts fail with objstore.ErrInvalidKey). Put writes a temporary file
// named ".medflow-tmp-*" in the target's folder, fsyncs it, renames it over
// the target and fsyncs the folder, so an object is visible only once
// complete; List never shows temporary files. Range reads seek the file.
//
// Not implemented: a key that is also the folder of other keys ("a" next
// to "a/b"; S3 allows it, a file system cannot: the Put fails), removal of stale temporary files left by a crashed
// process (they are invisible but occupy space), file locking between
// concurrent writers of the same key (the last rename wins), and listing of
// symlinked files or folders (only regular files are objects).
package local
