package s3

import "io"

// Resumes returns how many times a reader returned by Get re-opened its
// object.
func Resumes(rc io.ReadCloser) int {
	if r, ok := rc.(*reader); ok {
		return r.resumes
	}
	return 0
}

// WithOptions returns a copy of s using opts, skipping New's bucket check
// (to simulate credentials rotated after connecting).
func WithOptions(s *Store, opts Options) *Store {
	c := *s
	c.opts = opts
	c.opts.Retry = opts.Retry.withDefaults()
	var err error
	if c.client, err = newClient(opts, 0); err != nil {
		panic(err)
	}
	reads, err := newClient(opts, 1)
	if err != nil {
		panic(err)
	}
	c.reads.Client = reads
	return &c
}
