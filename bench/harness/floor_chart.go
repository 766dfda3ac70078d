package harness

import (
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// chartKinds are the servers the chart draws, in legend order.
var chartKinds = []string{KindCliser, KindCliserEvents, KindCliserTrust, KindFloor, KindBaseline}

// plateauXYs is one point per plateau (registered clients, RSS in MiB),
// read after the plateau settled: the RSS samples of a whole run, drawn
// as they came, piled up at the top count as a vertical smear.
func plateauXYs(r *Result) plotter.XYs {
	xys := make(plotter.XYs, 0, len(r.Stages))
	for _, st := range r.Stages {
		xys = append(xys, plotter.XY{X: float64(st.Registered), Y: float64(st.RSS) / (1 << 20)})
	}
	return xys
}

// intTicks labels an axis with whole numbers (client counts, MiB), not
// gonum's default "2500.00".
type intTicks struct{}

func (intTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', 0, 64)
		}
	}
	return ticks
}
