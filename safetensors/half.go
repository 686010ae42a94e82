package safetensors

import "github.com/medflow/medflow/internal/half"

// F16ToF32 converts IEEE 754 half-precision bits to float32.
func F16ToF32(h uint16) float32 { return half.F16ToF32(h) }

// F32ToF16 returns the half-precision bits nearest to f (ties to even,
// overflow to ±Inf).
func F32ToF16(f float32) uint16 { return half.F32ToF16(f) }

// BF16ToF32 converts bfloat16 bits to float32.
func BF16ToF32(h uint16) float32 { return half.BF16ToF32(h) }

// F32ToBF16 returns the bfloat16 bits nearest to f (ties to even).
func F32ToBF16(f float32) uint16 { return half.F32ToBF16(f) }
