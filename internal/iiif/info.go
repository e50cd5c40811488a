package iiif

import "fmt"

// Context and profile URIs.
const (
	Context3      = "http://iiif.io/api/image/3/context.json"
	Context2      = "http://iiif.io/api/image/2/context.json"
	Protocol      = "http://iiif.io/api/image"
	Level2V3      = "level2"
	Level2V3URI   = "http://iiif.io/api/image/3/level2.json"
	Level2V2URI   = "http://iiif.io/api/image/2/level2.json"
	MediaTypeV3LD = `application/ld+json;profile="http://iiif.io/api/image/3/context.json"`
	MediaTypeV2LD = `application/ld+json;profile="http://iiif.io/api/image/2/context.json"`
)

// SizeWH is one entry of info.json "sizes".
type SizeWH struct {
	Type   string `json:"type,omitempty"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// Tile is one entry of info.json "tiles".
type Tile struct {
	Type         string `json:"type,omitempty"`
	Width        int    `json:"width"`
	Height       int    `json:"height,omitempty"`
	ScaleFactors []int  `json:"scaleFactors"`
}

// Service describes one image for info.json.
type Service struct {
	ID            string // base URI without trailing slash: scheme://server/prefix/identifier
	Width, Height int    // full image
	Limits        Limits
	// TileWidth/TileHeight and ScaleFactors describe the pyramid; zero
	// TileWidth omits "tiles". Use ScaleFactors (the function) when no
	// pyramid file is at hand.
	TileWidth, TileHeight int
	ScaleFactors          []int
}

// Info3 is the Image API 3.0 info.json document. Field order is the JSON
// order; @context comes first as the spec asks.
type Info3 struct {
	Context        string   `json:"@context"`
	ID             string   `json:"id"`
	Type           string   `json:"type"`
	Protocol       string   `json:"protocol"`
	Profile        string   `json:"profile"`
	Width          int      `json:"width"`
	Height         int      `json:"height"`
	MaxWidth       int      `json:"maxWidth,omitempty"`
	MaxHeight      int      `json:"maxHeight,omitempty"`
	MaxArea        int64    `json:"maxArea,omitempty"`
	Sizes          []SizeWH `json:"sizes,omitempty"`
	Tiles          []Tile   `json:"tiles,omitempty"`
	ExtraFormats   []string `json:"extraFormats,omitempty"`
	ExtraQualities []string `json:"extraQualities,omitempty"`
	ExtraFeatures  []string `json:"extraFeatures,omitempty"`
}

// Profile2 is the object in a 2.1 info.json "profile" array.
type Profile2 struct {
	Formats   []string `json:"formats"`
	Qualities []string `json:"qualities"`
	Supports  []string `json:"supports"`
	MaxWidth  int      `json:"maxWidth,omitempty"`
	MaxHeight int      `json:"maxHeight,omitempty"`
	MaxArea   int64    `json:"maxArea,omitempty"`
}

// Info2 is the Image API 2.1 info.json document.
type Info2 struct {
	Context  string   `json:"@context"`
	ID       string   `json:"@id"`
	Protocol string   `json:"protocol"`
	Width    int      `json:"width"`
	Height   int      `json:"height"`
	Sizes    []SizeWH `json:"sizes,omitempty"`
	Tiles    []Tile   `json:"tiles,omitempty"`
	Profile  []any    `json:"profile"` // [Level2V2URI, Profile2]
}

// ScaleFactors returns 1, 2, 4, ... up to the first factor at which the
// whole image fits in one tile: the levels a libvips tiffsave pyramid with
// that tile size has.
func ScaleFactors(width, height, tile int) []int {
	f := []int{1}
	for s := 1; (width+s-1)/s > tile || (height+s-1)/s > tile; {
		s *= 2
		f = append(f, s)
	}
	return f
}

// sizesFor lists the full image at each scale factor, smallest first,
// leaving out sizes over the limits.
func sizesFor(s Service, withType bool) []SizeWH {
	var out []SizeWH
	for i := len(s.ScaleFactors) - 1; i >= 0; i-- {
		f := s.ScaleFactors[i]
		w, h := (s.Width+f-1)/f, (s.Height+f-1)/f
		if s.Limits.exceeds(w, h) {
			continue
		}
		e := SizeWH{Width: w, Height: h}
		if withType {
			e.Type = "Size"
		}
		out = append(out, e)
	}
	return out
}

func (s Service) validate() error {
	if s.ID == "" || s.Width <= 0 || s.Height <= 0 {
		return fmt.Errorf("iiif: info: need id and a positive size, got %q %dx%d", s.ID, s.Width, s.Height)
	}
	return s.Limits.Validate()
}

// Features3 are the extraFeatures stor supports beyond level 2 in 3.0.
// sizeUpscaling is added only when limits are set (3.0 §5.7 requires them).
var Features3 = []string{"canonicalLinkHeader", "mirroring", "profileLinkHeader", "rotationArbitrary"}

// NewInfo3 builds the 3.0 info.json for s.
func NewInfo3(s Service) (Info3, error) {
	if err := s.validate(); err != nil {
		return Info3{}, err
	}
	in := Info3{
		Context: Context3, ID: s.ID, Type: "ImageService3", Protocol: Protocol, Profile: Level2V3,
		Width: s.Width, Height: s.Height,
		MaxWidth: s.Limits.MaxWidth, MaxHeight: s.Limits.MaxHeight, MaxArea: s.Limits.MaxArea,
		Sizes:          sizesFor(s, true),
		ExtraFormats:   []string{"webp", "tif", "gif", "jp2"},
		ExtraQualities: []string{"color", "gray", "bitonal"},
		ExtraFeatures:  append([]string(nil), Features3...),
	}
	if s.Limits.MaxWidth > 0 || s.Limits.MaxArea > 0 {
		in.ExtraFeatures = append(in.ExtraFeatures, "sizeUpscaling")
	}
	if s.TileWidth > 0 {
		t := Tile{Type: "Tile", Width: s.TileWidth, ScaleFactors: s.ScaleFactors}
		if s.TileHeight != 0 && s.TileHeight != s.TileWidth {
			t.Height = s.TileHeight
		}
		in.Tiles = []Tile{t}
	}
	return in, nil
}

// Supports2 are the 2.1 "supports" features stor offers (level 2 plus
// extras).
var Supports2 = []string{
	"baseUriRedirect", "canonicalLinkHeader", "cors", "jsonldMediaType", "mirroring",
	"profileLinkHeader", "regionByPct", "regionByPx", "regionSquare", "rotationArbitrary",
	"rotationBy90s", "sizeAboveFull", "sizeByConfinedWh", "sizeByDistortedWh", "sizeByH",
	"sizeByPct", "sizeByW", "sizeByWh",
}

// NewInfo2 builds the 2.1 info.json for s.
func NewInfo2(s Service) (Info2, error) {
	if err := s.validate(); err != nil {
		return Info2{}, err
	}
	in := Info2{
		Context: Context2, ID: s.ID, Protocol: Protocol, Width: s.Width, Height: s.Height,
		Sizes: sizesFor(s, false),
		Profile: []any{Level2V2URI, Profile2{
			Formats:   []string{"jpg", "png", "webp", "tif", "gif", "jp2"},
			Qualities: []string{"default", "color", "gray", "bitonal"},
			Supports:  append([]string(nil), Supports2...),
			MaxWidth:  s.Limits.MaxWidth, MaxHeight: s.Limits.MaxHeight, MaxArea: s.Limits.MaxArea,
		}},
	}
	if s.TileWidth > 0 {
		t := Tile{Width: s.TileWidth, ScaleFactors: s.ScaleFactors}
		if s.TileHeight != 0 && s.TileHeight != s.TileWidth {
			t.Height = s.TileHeight
		}
		in.Tiles = []Tile{t}
	}
	return in, nil
}
