package storefront

import (
	"image"
	"image/color"
	"image/draw"
)

// quietZone pads img with px white pixels left and right: scanners need
// a blank margin to find where a barcode starts.
func quietZone(img image.Image, px int) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()+2*px, b.Dy()))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(out, image.Rect(px, 0, px+b.Dx(), b.Dy()), img, b.Min, draw.Src)
	return out
}
