package connectors

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
	"github.com/medflow/medflow/connectors/s3"
)

// Store is the object-store interface shared by all connectors.
type Store = objstore.Store

// Options configures the stores Open may create.
type Options struct {
	S3 s3.Options // used for s3:// URIs
}

// URI is a parsed store address.
type URI struct {
	Scheme string // "file" or "s3"
	Bucket string // s3 only
	Path   string // folder for file (absolute or relative), key prefix for s3
}

// String formats the URI back (file paths as given, s3 as s3://bucket/prefix).
func (u URI) String() string {
	switch u.Scheme {
	case "s3":
		if u.Path == "" {
			return "s3://" + u.Bucket
		}
		return "s3://" + u.Bucket + "/" + u.Path
	default:
		return u.Path
	}
}

// ParseURI parses a store URI (see the package documentation).
func ParseURI(uri string) (URI, error) {
	if uri == "" {
		return URI{}, fmt.Errorf("store URI is empty")
	}
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || strings.ContainsAny(scheme, "/\\.") {
		return URI{Scheme: "file", Path: uri}, nil // a plain path
	}
	switch strings.ToLower(scheme) {
	case "file":
		u, err := url.Parse(uri)
		if err != nil {
			return URI{}, fmt.Errorf("store URI %q: %w", uri, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return URI{}, fmt.Errorf("store URI %q: file URIs must be file:///absolute/path (host %q not supported)", uri, u.Host)
		}
		if u.Path == "" {
			return URI{}, fmt.Errorf("store URI %q: empty path", uri)
		}
		return URI{Scheme: "file", Path: u.Path}, nil
	case "s3":
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return URI{}, fmt.Errorf("store URI %q: missing bucket (want s3://bucket/prefix)", uri)
		}
		if strings.ContainsAny(bucket, "@:?#") {
			return URI{}, fmt.Errorf("store URI %q: the part after s3:// must be a bucket name (credentials and endpoints go in Options)", redactUserinfo(uri))
		}
		prefix = strings.Trim(prefix, "/")
		if prefix != "" {
			if err := objstore.ValidateKey(prefix); err != nil {
				return URI{}, fmt.Errorf("store URI %q: prefix: %w", uri, err)
			}
		}
		return URI{Scheme: "s3", Bucket: bucket, Path: prefix}, nil
	default:
		return URI{}, fmt.Errorf("store URI %q: unknown scheme %q (supported: file://, s3://, or a plain folder path)", redactUserinfo(uri), scheme)
	}
}

// redactUserinfo hides user:password@ in a URI before it goes into an error.
func redactUserinfo(uri string) string {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return uri
	}
	host, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = "REDACTED@" + host[i+1:]
		if path != "" || strings.Contains(rest, "/") {
			return scheme + "://" + host + "/" + path
		}
		return scheme + "://" + host
	}
	return uri
}

// Open returns the store addressed by uri.
func Open(ctx context.Context, uri string, opts Options) (Store, error) {
	u, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "s3":
		return s3.New(ctx, u.Bucket, u.Path, opts.S3)
	default:
		return local.New(u.Path)
	}
}
