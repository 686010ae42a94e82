package s3

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"slices"
	"strings"

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
	if s.client, err = newClient(opts, 0); err != nil {
		return nil, fmt.Errorf("s3 store %s: %w", s.uri, opts.sanitize(err))
	}
	reads, err := newClient(opts, 1)
	if err != nil {
		return nil, fmt.Errorf("s3 store %s: %w", s.uri, opts.sanitize(err))
	}
	s.reads = minio.Core{Client: reads}
	ok, err := s.client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 store %s on %s: %w", s.uri, s.endpoint(), opts.sanitize(err))
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
		Transport:    tr,
		Region:       opts.Region,
		BucketLookup: lookup,
		MaxRetries:   maxRetries,
	})
}

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
	oi, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return objstore.ObjectInfo{}, s.fail("stat", key, err)
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
	if _, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, r, size, opts); err != nil {
		return s.fail("put", key, err)
	}
	return nil
}

// Delete implements objstore.Store.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := s.check("delete", key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return s.fail("delete", key, err)
	}
	return nil
}

// List implements objstore.Store.
func (s *Store) List(ctx context.Context, prefix string) ([]objstore.ObjectInfo, error) {
	var out []objstore.ObjectInfo
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if oi.Err != nil {
			return nil, s.fail("list", prefix, oi.Err)
		}
		key := strings.TrimPrefix(oi.Key, s.prefix)
		if strings.HasSuffix(key, "/") || objstore.IsTemp(key) { // folder markers, foreign temp files
			continue
		}
		out = append(out, s.info(key, oi))
	}
	slices.SortFunc(out, func(a, b objstore.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
