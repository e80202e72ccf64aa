package ceph

import "testing"

func TestPGNum(t *testing.T) {
	for _, tt := range []struct{ osds, size, pools, per, want int64 }{
		{3, 3, 1, 100, 128},    // 100 -> 128
		{12, 3, 1, 100, 512},   // 400 -> 512 (log2 8.64 rounds to 9)
		{12, 3, 4, 100, 128},   // 100
		{40, 3, 1, 100, 1024},  // 1333 -> 1024
		{3, 3, 10, 100, 8},     // 10 -> 8
		{1, 3, 100, 100, 1},    // below 1
		{6, 6, 1, 200, 256},    // EC 4+2: 200
		{100, 3, 1, 100, 4096}, // 3333 -> 4096
	} {
		if got := PGNum(tt.osds, tt.size, tt.pools, tt.per); got != tt.want {
			t.Errorf("PGNum(%d, %d, %d, %d) = %d, want %d", tt.osds, tt.size, tt.pools, tt.per, got, tt.want)
		}
	}
}
