package harness

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var serverColor = map[string]color.Color{
	KindCliser:   color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	KindBaseline: color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	KindInproc:   color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
}

// DrawChart draws the report's PNG: server RSS against registered clients
// (left) and keep-alive RTT percentiles by the probe method (right).
func (rep *Report) DrawChart(w io.Writer) error {
	rss, err := rep.rssPlot()
	if err != nil {
		return err
	}
	rtt, err := rep.rttPlot()
	if err != nil {
		return err
	}
	img := vgimg.New(vg.Points(1100), vg.Points(420))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Points(24), PadTop: vg.Points(8), PadBottom: vg.Points(8), PadLeft: vg.Points(8), PadRight: vg.Points(8)}
	cs := plot.Align([][]*plot.Plot{{rss, rtt}}, tiles, dc)
	rss.Draw(cs[0][0])
	rtt.Draw(cs[0][1])
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func (rep *Report) rssPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "Server RSS against registered clients"
	p.X.Label.Text = "registered clients"
	p.Y.Label.Text = "RSS (MiB)"
	p.Legend.Top, p.Legend.Left = true, true
	for _, k := range []string{KindCliser, KindBaseline} {
		r := rep.Results[k]
		if r == nil || len(r.Series) == 0 {
			continue
		}
		xys := make(plotter.XYs, 0, len(r.Series))
		for _, pt := range growth(r) {
			xys = append(xys, plotter.XY{X: float64(pt.Registered), Y: float64(pt.RSS) / (1 << 20)})
		}
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.GlyphStyle.Color = serverColor[k]
		sc.GlyphStyle.Radius = vg.Points(1.5)
		p.Add(sc)
		label := k
		if r.RSSPerClient != 0 {
			label = fmt.Sprintf("%s (%s/client)", k, bytesStr(r.RSSPerClient))
		}
		p.Legend.Add(label, sc)
	}
	p.Add(plotter.NewGrid())
	p.Y.Min = 0
	return p, nil
}

// growth is the RSS series up to the shutdown: once the top was reached,
// the first sample with fewer than half the clients registered starts the
// shutdown and the bursts, whose RSS says nothing about clients held.
func growth(r *Result) []Point {
	top := false
	for i, pt := range r.Series {
		if pt.Registered >= int64(r.Clients) {
			top = true
		}
		if top && pt.Registered < int64(r.Clients)/2 {
			return r.Series[:i]
		}
	}
	return r.Series
}

func (rep *Report) rttPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Keep-alive RTT, probe method (%d clients idle)", rep.topClients())
	p.Y.Label.Text = "milliseconds"
	p.Legend.Top, p.Legend.Left = true, true
	names := []string{"p50", "p90", "p99", "p99.9", "max"}
	kinds := []string{}
	for _, k := range []string{KindCliser, KindBaseline} {
		if r := rep.Results[k]; r != nil && r.ProbeRTT.Count > 0 {
			kinds = append(kinds, k)
		}
	}
	w := vg.Points(18)
	for i, k := range kinds {
		pr := rep.Results[k].ProbeRTT
		bars, err := plotter.NewBarChart(plotter.Values{pr.P50, pr.P90, pr.P99, pr.P999, pr.Max}, w)
		if err != nil {
			return nil, err
		}
		bars.Color = serverColor[k]
		bars.LineStyle.Width = 0
		bars.Offset = vg.Length(float64(i)-float64(len(kinds)-1)/2) * w
		p.Add(bars)
		p.Legend.Add(k, bars)
	}
	p.NominalX(names...)
	p.Add(plotter.NewGrid())
	return p, nil
}

func (rep *Report) topClients() int64 {
	if r := rep.Results[KindCliser]; r != nil {
		return r.Idle.Clients
	}
	for _, r := range rep.Results {
		return r.Idle.Clients
	}
	return 0
}
