package s3

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/medflow/medflow/connectors/objstore"
)

// multipartSize is the part size used when Put does not know the size.
const multipartSize = 16 << 20

// Store is an objstore.Store over one bucket and key prefix.
type Store struct {
	bucket string
	prefix string // "" or ending in "/"
	opts   Options
	uri    string
	client *minio.Client // minio-go retries: metadata and uploads
	reads  minio.Core    // no minio-go retries: the resumable reader retries
}

var _ objstore.Store = (*Store)(nil)

// New connects to bucket and checks that it exists. prefix (may be empty)
// is prepended to every key.
func New(ctx context.Context, bucket, prefix string, opts Options) (*Store, error) {
	opts.Retry = opts.Retry.withDefaults()
	opts.Timeouts = opts.Timeouts.withDefaults()
	prefix = strings.Trim(prefix, "/")
	s := &Store{bucket: bucket, opts: opts, uri: "s3://" + bucket}
	if prefix != "" {
		s.prefix = prefix + "/"
		s.uri += "/" + prefix
		if err := objstore.ValidateKey(prefix); err != nil {
			return nil, fmt.Errorf("s3 store %s: prefix: %w", s.uri, err)
		}
	}
	var err error
	// One attempt per call in minio-go: retry paces the attempts (and
	// bounds those that time out).
	if s.client, err = newClient(opts, 1); err != nil {
		return nil, fmt.Errorf("s3 store %s: %w", s.uri, opts.sanitize(err))
	}
	reads, err := newClient(opts, 1)
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: %w", s.uri, opts.sanitize(err))
	}
	s.reads = minio.Core{Client: reads}
	var ok bool
	err = s.retry(ctx, "check bucket", "", nil, func() (err error) {
		ok, err = s.client.BucketExists(ctx, bucket)
		return opts.sanitize(err)
	})
	if err != nil {
		return nil, fmt.Errorf("s3 store %s on %s: %w", s.uri, s.endpoint(), unwrapStoreErr(err))
	}
	if !ok {
		return nil, fmt.Errorf("s3 store %s on %s: bucket %q does not exist", s.uri, s.endpoint(), bucket)
	}
	return s, nil
}

func (s *Store) endpoint() string {
	if s.opts.Endpoint == "" {
		return "s3.amazonaws.com"
	}
	return s.opts.Endpoint
}

func newClient(opts Options, maxRetries int) (*minio.Client, error) {
	tr, err := minio.DefaultTransport(opts.IsSecure())
	if err != nil {
		return nil, err
	}
	t := opts.Timeouts.withDefaults()
	dialer := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dialer.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return idleWrites{Conn: c, idle: t.IdleBody}, nil
	}
	tr.TLSHandshakeTimeout = t.Connect
	tr.ResponseHeaderTimeout = t.ResponseHeader
	if opts.InsecureSkipVerify {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.InsecureSkipVerify = true
	}
	creds := credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, opts.SessionToken)
	if opts.AccessKey == "" {
		creds = credentials.NewChainCredentials([]credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}})
	}
	lookup := minio.BucketLookupAuto
	if opts.PathStyle {
		lookup = minio.BucketLookupPath
	}
	endpoint := opts.Endpoint
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	return minio.New(endpoint, &minio.Options{
		Creds:        creds,
		Secure:       opts.IsSecure(),
		Transport:    idleBodies{certFinal{tr}, t.IdleBody},
		Region:       opts.Region,
		BucketLookup: lookup,
		MaxRetries:   maxRetries,
	})
}

// certFinal unwraps a TLS certificate verification failure to the x509
// error it holds, which minio-go recognises as final (it looks for
// x509.UnknownAuthorityError itself, not inside Go's
// tls.CertificateVerificationError, and would otherwise retry a rejected
// certificate ten times).
type certFinal struct{ rt http.RoundTripper }

func (c certFinal) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	var verify *tls.CertificateVerificationError
	if err != nil && errors.As(err, &verify) && verify.Err != nil {
		return resp, verify.Err
	}
	return resp, err
}

// idleWrites fails a write (a request being sent) that makes no progress
// for idle: an endpoint that stops reading cannot block a Put forever.
type idleWrites struct {
	net.Conn
	idle time.Duration
}

func (c idleWrites) Write(p []byte) (int, error) {
	if err := c.SetWriteDeadline(time.Now().Add(c.idle)); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// idleBodies bounds the wait for each read of a response body.
type idleBodies struct {
	rt   http.RoundTripper
	idle time.Duration
}

func (c idleBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	if err == nil && resp.Body != nil {
		resp.Body = &idleBody{rc: resp.Body, idle: c.idle}
	}
	return resp, err
}

// errIdleBody: a response body sent nothing for Timeouts.IdleBody.
type errIdleBody struct{ idle time.Duration }

func (e errIdleBody) Error() string   { return fmt.Sprintf("no body bytes received for %v", e.idle) }
func (e errIdleBody) Timeout() bool   { return true }
func (e errIdleBody) Temporary() bool { return true }

// idleBody closes its body when a Read waits longer than idle, and then
// reports errIdleBody.
type idleBody struct {
	rc       io.ReadCloser
	idle     time.Duration
	timedOut atomic.Bool
}

func (b *idleBody) Read(p []byte) (int, error) {
	t := time.AfterFunc(b.idle, func() {
		b.timedOut.Store(true)
		b.rc.Close()
	})
	n, err := b.rc.Read(p)
	t.Stop()
	if err != nil && b.timedOut.Load() {
		err = errIdleBody{b.idle}
	}
	return n, err
}

func (b *idleBody) Close() error { return b.rc.Close() }

// String returns s3://bucket/prefix (it holds no secrets).
func (s *Store) String() string { return s.uri }

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the key prefix ("" or ending in "/").
func (s *Store) Prefix() string { return s.prefix }

func (s *Store) fail(op, key string, err error) error {
	return objstore.Errorf(op, s, key, s.opts.sanitize(err))
}

func (s *Store) check(op, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return objstore.Errorf(op, s, key, err)
	}
	return nil
}

func (s *Store) info(key string, oi minio.ObjectInfo) objstore.ObjectInfo {
	return objstore.ObjectInfo{Key: key, Size: oi.Size, ETag: oi.ETag, ModTime: oi.LastModified}
}

// Stat implements objstore.Store.
func (s *Store) Stat(ctx context.Context, key string) (objstore.ObjectInfo, error) {
	if err := s.check("stat", key); err != nil {
		return objstore.ObjectInfo{}, err
	}
	var oi minio.ObjectInfo
	err := s.retry(ctx, "stat", key, nil, func() (err error) {
		if oi, err = s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{}); err != nil {
			return s.fail("stat", key, err)
		}
		return nil
	})
	if err != nil {
		return objstore.ObjectInfo{}, err
	}
	return s.info(key, oi), nil
}

// Put implements objstore.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	if err := s.check("put", key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return s.fail("put", key, err)
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	if size < 0 {
		opts.PartSize = multipartSize
	}
	// A body that can seek back is replayed after a failed attempt; a body
	// that failed or ended short is the caller's fault and is not retried.
	// Files and byte slices (ReaderAt + Seeker) go to minio-go as they are,
	// so it can upload their parts in parallel.
	var body io.Reader
	var rewind func() error
	if rs, ok := r.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		start, err := rs.Seek(0, io.SeekCurrent)
		if err != nil {
			return s.fail("put", key, err)
		}
		body = r
		rewind = func() error {
			end, err := rs.Seek(0, io.SeekEnd)
			if err == nil && size >= 0 && end-start < size {
				return io.ErrUnexpectedEOF
			}
			if err == nil {
				_, err = rs.Seek(start, io.SeekStart)
			}
			return err
		}
	} else {
		br := &bodyReader{r: r}
		body = br
		rewind = func() error {
			if br.err == io.EOF && size >= 0 && br.n < size {
				return io.ErrUnexpectedEOF
			}
			if br.err != nil && br.err != io.EOF {
				return br.err
			}
			return errors.New("body cannot be replayed")
		}
	}
	return s.retry(ctx, "put", key, rewind, func() error {
		if _, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, body, size, opts); err != nil {
			return s.fail("put", key, err)
		}
		return nil
	})
}

// PutIf implements objstore.ConditionalPutter with If-None-Match: * (when
// ifMatch is "") or If-Match: ifMatch, which the server checks atomically.
func (s *Store) PutIf(ctx context.Context, key string, data []byte, ifMatch string) (string, error) {
	if err := s.check("put", key); err != nil {
		return "", err
	}
	opts := minio.PutObjectOptions{ContentType: "application/json"}
	if ifMatch == "" {
		opts.SetMatchETagExcept("*")
	} else {
		opts.SetMatchETag(ifMatch)
	}
	var etag string
	err := s.retry(ctx, "put", key, nil, func() error {
		info, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(data), int64(len(data)), opts)
		if err != nil {
			return s.fail("put", key, err)
		}
		etag = info.ETag
		return nil
	})
	var se *Error
	if errors.As(err, &se) && (se.StatusCode == http.StatusPreconditionFailed || se.StatusCode == http.StatusConflict ||
		ifMatch != "" && se.StatusCode == http.StatusNotFound) {
		return "", objstore.Errorf("put", s, key, fmt.Errorf("%w: %s", objstore.ErrPrecondition, se.Code))
	}
	return etag, err
}

// bodyReader remembers how a streamed Put body was read, to tell a bad body
// from a transport failure in the error message.
type bodyReader struct {
	r   io.Reader
	n   int64 // bytes read
	err error // last Read error (io.EOF at the end)
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if err != nil {
		b.err = err
	}
	return n, err
}

// Delete implements objstore.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check("delete", key); err != nil {
		return err
	}
	return s.retry(ctx, "delete", key, nil, func() error {
		if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
			return s.fail("delete", key, err)
		}
		return nil
	})
}

// List implements objstore.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	var out []objstore.ObjectInfo
	err := s.retry(ctx, "list", prefix, nil, func() error {
		out = out[:0] // a retried listing starts over
		for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
			if oi.Err != nil {
				return s.fail("list", prefix, oi.Err)
			}
			key := strings.TrimPrefix(oi.Key, s.prefix)
			if strings.HasSuffix(key, "/") || objstore.IsTemp(key) { // folder markers, foreign temp files
				continue
			}
			out = append(out, s.info(key, oi))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b objstore.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
