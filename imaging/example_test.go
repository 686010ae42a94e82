package imaging_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"github.com/medflow/medflow/imaging"
)

func ExampleDecoder_Uint8() {
	// A 640×480 JPEG, dark left half, bright right half (in real use: the
	// bytes of a MIMIC-CXR-JPG file).
	img := image.NewGray(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = 50
		if i%640 >= 320 {
			img.Pix[i] = 200
		}
	}
	var src bytes.Buffer
	if err := jpeg.Encode(&src, img, nil); err != nil {
		panic(err)
	}

	d, err := imaging.NewDecoder(imaging.Options{Size: 224, Fit: imaging.Cover})
	if err != nil {
		panic(err)
	}
	out := make([]uint8, 224*224)
	info, err := d.Uint8(src.Bytes(), out)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s %dx%d decoded at %d/8 (%dx%d), resized and cropped to 224x224\n",
		info.Format, info.Width, info.Height, info.Scale, info.DecodedWidth, info.DecodedHeight)
	row := out[112*224 : 113*224]
	fmt.Println("left:", row[10], "right:", row[213])
	// Output:
	// jpeg 640x480 decoded at 4/8 (320x240), resized and cropped to 224x224
	// left: 50 right: 200
}
