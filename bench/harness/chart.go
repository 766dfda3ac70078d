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
	KindCliser:       color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	KindBaseline:     color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	KindInproc:       color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	KindFloor:        color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff},
	KindCliserEvents: color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	KindCliserTrust:  color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
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
	p.Title.Text = "Server RSS at each plateau"
	p.X.Label.Text = "registered clients"
	p.Y.Label.Text = "RSS (MiB)"
	p.X.Tick.Marker, p.Y.Tick.Marker = intTicks{}, intTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	for _, k := range chartKinds {
		r := rep.Results[k]
		if r == nil || len(r.Stages) == 0 {
			continue
		}
		line, sc, err := plotter.NewLinePoints(plateauXYs(r))
		if err != nil {
			return nil, err
		}
		line.Color, sc.Color = serverColor[k], serverColor[k]
		sc.Radius = vg.Points(3)
		p.Add(line, sc)
		label := k
		if r.RSSPerClient != 0 {
			label = fmt.Sprintf("%s (%s/client)", k, bytesStr(r.RSSPerClient))
		}
		p.Legend.Add(label, line, sc)
	}
	p.Add(plotter.NewGrid())
	p.Y.Min = 0
	return p, nil
}

func (rep *Report) rttPlot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Keep-alive RTT, probe method (%d clients idle)", rep.topClients())
	p.Y.Label.Text = "milliseconds"
	p.Legend.Top, p.Legend.Left = true, true
	names := []string{"p50", "p90", "p99", "p99.9", "max"}
	kinds := []string{}
	for _, k := range chartKinds {
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
