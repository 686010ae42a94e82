package local_test

import (
	"context"
	"fmt"
	"os"

	"github.com/medflow/medflow/connectors/local"
	"github.com/medflow/medflow/connectors/objstore"
)

func Example() {
	dir, _ := os.MkdirTemp("", "medflow-example-")
	defer os.RemoveAll(dir)
	s, err := local.New(dir)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = objstore.PutBytes(ctx, s, "reports/s1.txt", []byte("FINDINGS: clear lungs"))
	rc, _ := s.Get(ctx, "reports/s1.txt", objstore.Range{Off: 10, Len: 5})
	defer rc.Close()
	buf := make([]byte, 5)
	n, _ := rc.Read(buf)
	infos, _ := s.List(ctx, "reports/")
	fmt.Println(string(buf[:n]), len(infos), infos[0].Key)
	// Output: clear 1 reports/s1.txt
}
