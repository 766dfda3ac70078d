package load

import hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

func hdrCount(s *hdrhistogram.Snapshot) int64 { return Hist(s).TotalCount() }
