package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/medflow/medflow/connectors/objstore"
)

// Get implements objstore.Store. The returned reader resumes interrupted
// transfers (see the package documentation).
func (s *Store) Get(ctx context.Context, key string, r objstore.Range) (io.ReadCloser, error) {
	if err := s.check("get", key); err != nil {
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, objstore.Errorf("get", s, key, err)
	}
	if r.Len == 0 {
		return s.emptyRange(ctx, key, r.Off)
	}
	rd := &reader{s: s, ctx: ctx, key: key, pos: r.Off, end: -1}
	if r.Len > 0 {
		rd.end = r.Off + r.Len
	}
	err := rd.open()
	if err != nil && retryable(err) {
		rd.failingSince = time.Now()
		err = rd.reopen(err)
	}
	if errors.Is(err, objstore.ErrInvalidRange) {
		return s.emptyRange(ctx, key, r.Off) // Off == size is an empty read
	}
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// emptyRange serves a zero-length read at off after checking the object.
func (s *Store) emptyRange(ctx context.Context, key string, off int64) (io.ReadCloser, error) {
	info, err := s.Stat(ctx, key)
	if err != nil {
		return nil, &objstore.Error{Op: "get", Store: s.uri, Key: key, Err: errors.Unwrap(err)}
	}
	if off > info.Size {
		return nil, objstore.Errorf("get", s, key, fmt.Errorf("%w: offset %d beyond size %d", objstore.ErrInvalidRange, off, info.Size))
	}
	return io.NopCloser(eofReader{}), nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// reader is a resumable object body.
type reader struct {
	s   *Store
	ctx context.Context
	key string

	pos  int64  // absolute offset of the next byte to deliver
	end  int64  // absolute end (exclusive); -1 until the first response
	etag string // pinned by the first response

	body         io.ReadCloser
	failingSince time.Time // zero while healthy
	lastErr      error     // cause of the current outage
	err          error     // sticky final error
	resumes      int       // successful re-opens, for tests
	timeouts     int       // timed-out attempts since the last progress
}

// open issues one GET for [pos, end).
func (r *reader) open() error {
	var opts minio.GetObjectOptions
	var err error
	switch {
	case r.end >= 0:
		err = opts.SetRange(r.pos, r.end-1)
	case r.pos > 0:
		err = opts.SetRange(r.pos, 0)
	}
	if err == nil && r.etag != "" {
		err = opts.SetMatchETag(r.etag)
	}
	if err != nil {
		return r.fail(err)
	}
	body, oi, hdr, err := r.s.reads.GetObject(r.ctx, r.s.bucket, r.s.prefix+r.key, opts)
	if err != nil {
		return r.fail(err)
	}
	if want := fmt.Sprintf("bytes %d-", r.pos); (r.pos > 0 || r.end >= 0) && !strings.HasPrefix(hdr.Get("Content-Range"), want) {
		body.Close() // a server ignoring Range would splice wrong bytes in
		return r.fail(fmt.Errorf("%w: ranged GET from offset %d answered with Content-Range %q", errRangeIgnored, r.pos, hdr.Get("Content-Range")))
	}
	if r.etag == "" { // first response: pin the version and the exact end
		r.etag = oi.ETag
		if oi.Size >= 0 {
			r.end = r.pos + oi.Size // the range as served, clamped to the object
		}
	}
	r.body = body
	return nil
}

func (r *reader) fail(err error) error {
	return objstore.Errorf("get", r.s, r.key, r.s.opts.sanitize(err))
}

// reopen retries open with exponential backoff and full jitter until the
// retry deadline, counted from failingSince, has passed.
func (r *reader) reopen(cause error) error {
	pol := r.s.opts.Retry
	b := pol.backoff(r.failingSince)
	for attempt := 1; ; attempt++ {
		if err := r.s.tooManyTimeouts("read", r.key, r.s.opts.sanitize(cause), &r.timeouts); err != nil {
			return err
		}
		r.s.logRetry("read", r.key, attempt, cause)
		if err := b.sleep(r.ctx); err != nil {
			if errors.Is(err, errDeadline) {
				return objstore.Errorf("read", r.s, r.key, fmt.Errorf(
					"s3://%s/%s at offset %d: gave up after %v and %d attempts: last error: %w",
					r.s.bucket, r.s.prefix+r.key, r.pos, pol.Deadline, attempt-1, unwrapStoreErr(r.s.opts.sanitize(cause))))
			}
			return r.fail(err)
		}
		err := r.open()
		if err == nil {
			r.resumes++
			return nil
		}
		if !retryable(err) {
			return err
		}
		cause = err
	}
}

// errDeadline ends a retry loop whose deadline has passed.
var errDeadline = errors.New("retry deadline passed")

// backoff paces the attempts of one retry loop.
type backoff struct {
	next, max time.Duration
	deadline  time.Time
}

func (p Retry) backoff(since time.Time) *backoff {
	return &backoff{next: p.InitialBackoff, max: p.MaxBackoff, deadline: since.Add(p.Deadline)}
}

// sleep waits the next delay (full jitter around it, doubling up to max),
// or returns errDeadline when the deadline leaves no time, or ctx's error.
func (b *backoff) sleep(ctx context.Context) error {
	wait := min(time.Duration(rand.Int64N(int64(b.next)))+b.next/2, time.Until(b.deadline))
	if wait <= 0 {
		return errDeadline
	}
	b.next = min(2*b.next, b.max)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retry runs op until it succeeds, fails for good, ctx ends, or the retry
// deadline passes: minio-go retries a request for a few seconds only, and a
// store that is down for longer must not fail the run. rewind prepares a
// new attempt (e.g. seeks a Put's body back); it may refuse.
func (s *Store) retry(ctx context.Context, op, key string, rewind func() error, f func() error) error {
	err := f()
	if err == nil || !retryable(err) {
		return err
	}
	b := s.opts.Retry.backoff(time.Now())
	timeouts := 0
	for attempt := 1; ; attempt++ {
		if err := s.tooManyTimeouts(op, key, err, &timeouts); err != nil {
			return err
		}
		s.logRetry(op, key, attempt, err)
		if rewind != nil {
			if rerr := rewind(); rerr != nil {
				return err // cannot replay the body: report the failure
			}
		}
		if serr := b.sleep(ctx); serr != nil {
			if errors.Is(serr, errDeadline) {
				return objstore.Errorf(op, s, key, fmt.Errorf("gave up after %v and %d attempts: last error: %w",
					s.opts.Retry.Deadline, attempt, unwrapStoreErr(err)))
			}
			return s.fail(op, key, serr)
		}
		if err = f(); err == nil || !retryable(err) {
			return err
		}
	}
}

// tooManyTimeouts counts err if it is a timeout, and returns the final
// error, naming the endpoint, once maxTimeouts attempts have timed out.
func (s *Store) tooManyTimeouts(op, key string, err error, timeouts *int) error {
	if !errors.Is(err, ErrTimeout) {
		return nil
	}
	if *timeouts++; *timeouts < maxTimeouts {
		return nil
	}
	return objstore.Errorf(op, s, key, fmt.Errorf("endpoint %s does not answer: %d attempts timed out (timeouts: connect %v, response headers %v, idle body %v): last error: %w",
		s.endpoint(), *timeouts, s.opts.Timeouts.Connect, s.opts.Timeouts.ResponseHeader, s.opts.Timeouts.IdleBody, unwrapStoreErr(err)))
}

// logRetry logs, at debug level, that attempt failed with cause (which is
// sanitized: it holds no credentials).
func (s *Store) logRetry(op, key string, attempt int, cause error) {
	if s.opts.Logger != nil {
		s.opts.Logger.Debug("s3 retry", "op", op, "store", s.uri, "key", key, "failed_attempts", attempt, "cause", s.opts.sanitize(cause).Error())
	}
}

// unwrapStoreErr drops an *objstore.Error layer so a message does not name
// the store twice.
func unwrapStoreErr(err error) error {
	var oe *objstore.Error
	if errors.As(err, &oe) {
		return oe.Err
	}
	return err
}

// Read implements io.Reader, resuming after transport failures.
func (r *reader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.end >= 0 && r.pos >= r.end {
			return 0, io.EOF
		}
		if r.body == nil {
			if err := r.reopen(r.lastErr); err != nil {
				r.err = err
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.pos += int64(n)
		if n > 0 {
			r.failingSince, r.lastErr, r.timeouts = time.Time{}, nil, 0
		}
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (r.end < 0 || r.pos >= r.end):
			return n, io.EOF
		case r.ctx.Err() != nil:
			r.err = r.fail(r.ctx.Err())
			return n, r.err
		}
		// The body died (or ended early): drop it and resume.
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.body.Close()
		r.body = nil
		r.lastErr = err
		if r.failingSince.IsZero() {
			r.failingSince = time.Now()
		}
		if n > 0 {
			return n, nil
		}
	}
}

// Close releases the current response body.
func (r *reader) Close() error {
	if r.err == nil {
		r.err = objstore.Errorf("read", r.s, r.key, errors.New("reader closed"))
	}
	if r.body != nil {
		err := r.body.Close()
		r.body = nil
		return err
	}
	return nil
}
