package ort

import (
	"fmt"
	"strconv"

	onnx "github.com/yalue/onnxruntime_go"
)

// Providers accepted by Options.Provider.
const (
	ProviderCPU  = "cpu"
	ProviderCUDA = "cuda"
)

// Options configure the library, the sessions and the pool. The zero value
// is valid: library found by FindLibrary, ORT's default threads, all graph
// optimizations, CPU, one session with one run slot.
type Options struct {
	// Library is the path of libonnxruntime.so.1 ("" : see FindLibrary).
	Library string
	// IntraOpThreads and InterOpThreads size ORT's thread pools per session
	// (0: ORT's default, one per physical core for intra-op).
	IntraOpThreads, InterOpThreads int
	// GraphOptimization is disable, basic, extended or all ("" : all).
	GraphOptimization string
	// Provider is cpu or cuda ("" : cpu); DeviceID picks the CUDA device.
	Provider string
	DeviceID int
	// Sessions is the number of ORT sessions (each holds the weights);
	// Concurrency the number of Runs in flight, spread over the sessions
	// (0: Sessions). 0 Sessions means 1.
	Sessions, Concurrency int
}

func (o Options) normalized() (Options, error) {
	if o.Provider == "" {
		o.Provider = ProviderCPU
	}
	if o.GraphOptimization == "" {
		o.GraphOptimization = "all"
	}
	if o.Sessions == 0 {
		o.Sessions = 1
	}
	if o.Concurrency == 0 {
		o.Concurrency = o.Sessions
	}
	switch {
	case o.Provider != ProviderCPU && o.Provider != ProviderCUDA:
		return o, fmt.Errorf("%w: provider %q: want cpu or cuda", ErrOptions, o.Provider)
	case o.IntraOpThreads < 0 || o.InterOpThreads < 0:
		return o, fmt.Errorf("%w: threads must be >= 0 (intra %d, inter %d)", ErrOptions, o.IntraOpThreads, o.InterOpThreads)
	case o.DeviceID < 0:
		return o, fmt.Errorf("%w: device %d must be >= 0", ErrOptions, o.DeviceID)
	case o.Sessions < 0 || o.Concurrency < 0:
		return o, fmt.Errorf("%w: sessions %d and concurrency %d must be >= 0", ErrOptions, o.Sessions, o.Concurrency)
	case o.Concurrency < o.Sessions:
		return o, fmt.Errorf("%w: concurrency %d < sessions %d leaves sessions unused", ErrOptions, o.Concurrency, o.Sessions)
	}
	if _, err := ParseOptimization(o.GraphOptimization); err != nil {
		return o, err
	}
	return o, nil
}

// ParseOptimization maps disable|basic|extended|all to ORT's level.
func ParseOptimization(s string) (onnx.GraphOptimizationLevel, error) {
	switch s {
	case "disable":
		return onnx.GraphOptimizationLevelDisableAll, nil
	case "basic":
		return onnx.GraphOptimizationLevelEnableBasic, nil
	case "extended":
		return onnx.GraphOptimizationLevelEnableExtended, nil
	case "all", "":
		return onnx.GraphOptimizationLevelEnableAll, nil
	}
	return 0, fmt.Errorf("%w: graph optimization %q: want disable, basic, extended or all", ErrOptions, s)
}

// sessionOptions builds ORT session options (the CUDA provider files were
// checked by Load). The caller destroys the result.
func (o Options) sessionOptions() (*onnx.SessionOptions, error) {
	so, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("%w: session options: %v", ErrOptions, err)
	}
	fail := func(what string, err error) (*onnx.SessionOptions, error) {
		so.Destroy()
		return nil, fmt.Errorf("%w: %s: %v", ErrOptions, what, err)
	}
	if o.IntraOpThreads > 0 {
		if err := so.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			return fail("intra-op threads", err)
		}
	}
	if o.InterOpThreads > 0 {
		if err := so.SetInterOpNumThreads(o.InterOpThreads); err != nil {
			return fail("inter-op threads", err)
		}
	}
	level, _ := ParseOptimization(o.GraphOptimization)
	if err := so.SetGraphOptimizationLevel(level); err != nil {
		return fail("graph optimization", err)
	}
	if o.Provider == ProviderCUDA {
		cuda, err := onnx.NewCUDAProviderOptions()
		if err != nil {
			so.Destroy()
			return nil, fmt.Errorf("%w: %v", ErrNoCUDAProvider, err)
		}
		defer cuda.Destroy()
		if err := cuda.Update(map[string]string{"device_id": strconv.Itoa(o.DeviceID)}); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("%w: device %d: %v", ErrNoCUDAProvider, o.DeviceID, err)
		}
		if err := so.AppendExecutionProviderCUDA(cuda); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("%w: device %d (needs CUDA 12 + cuDNN 9 libraries on the loader path): %v", ErrNoCUDAProvider, o.DeviceID, err)
		}
	}
	return so, nil
}
