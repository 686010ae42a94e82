package badinput_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/medflow/medflow/internal/badinput"
)

// A 64x64 JPEG whose header claims 60000x60000: a decompression bomb's
// header that image.decode must refuse before allocating.
func ExampleSetJPEGSize() {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewGray(image.Rect(0, 0, 64, 64)), nil); err != nil {
		fmt.Println(err)
		return
	}
	bomb, err := badinput.SetJPEGSize(buf.Bytes(), 60000, 60000)
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(bomb))
	fmt.Println(cfg.Width, cfg.Height, err)
	// Output: 60000 60000 <nil>
}
