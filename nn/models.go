package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph DSL
)

// Model kinds, as in the model table's "model" column.
const (
	KindMAE         = "vit-mae"
	KindContrastive = "vit-contrastive"
	KindClassifier  = "vit-classifier"
)

// ContrastiveConfig selects the contrastive loss.
type ContrastiveConfig struct {
	Loss            string  `json:"loss"`             // "margin" or "infonce"
	Margin          float64 `json:"margin"`           // ε of the margin loss
	TemperatureInit float64 `json:"temperature_init"` // initial InfoNCE temperature (scale = 1/T, learnable)
	Normalize       bool    `json:"normalize"`        // margin loss on unit-length embeddings
	FreezeEncoder   bool    `json:"freeze_encoder"`
}

// ClassifierConfig sizes the label head.
type ClassifierConfig struct {
	Labels int `json:"labels"`
	// Features: "mean" (mean of the encoder's patch tokens) or "attention"
	// (the attention pool: the contrastive one when trained, else fresh).
	Features string `json:"features"`
	// Mode: "probe" (encoder frozen; a fresh pool still trains) or "finetune".
	Mode      string `json:"mode"`
	FreshPool bool   `json:"fresh_pool"`
}

// Config is the architecture of a model; it travels as JSON in the model
// table's config column.
type Config struct {
	Encoder     ViTConfig          `json:"encoder"`
	MAE         *MAEConfig         `json:"mae,omitempty"`
	Pool        *PoolConfig        `json:"pool,omitempty"`
	Contrastive *ContrastiveConfig `json:"contrastive,omitempty"`
	Classifier  *ClassifierConfig  `json:"classifier,omitempty"`
}

// JSON returns the config as JSON.
func (c Config) JSON() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// ParseConfig decodes a config from JSON.
func ParseConfig(s string) (Config, error) {
	var c Config
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("%w: config JSON: %v", ErrConfig, err)
	}
	return c, c.Encoder.Validate()
}

// Model is an architecture plus its parameters.
type Model struct {
	Kind   string
	Config Config
	Params *Params
}

// Check verifies that the parameters are exactly those the config needs,
// with the right shapes.
func (m *Model) Check() error {
	want := NewParams()
	in := NewInit(want, 0)
	initFor(in, m.Kind, m.Config)
	for _, t := range want.List() {
		got := m.Params.Get(t.Name)
		if got == nil {
			return fmt.Errorf("%w %q: missing from the %s model", ErrParam, t.Name, m.Kind)
		}
		if fmt.Sprint(got.Shape) != fmt.Sprint(t.Shape) || len(got.Data) != Size(t.Shape) {
			return fmt.Errorf("%w %q: shape %v (%d values), config wants %v", ErrParam, t.Name, got.Shape, len(got.Data), t.Shape)
		}
	}
	if want.Len() != m.Params.Len() {
		for _, t := range m.Params.List() {
			if want.Get(t.Name) == nil {
				return fmt.Errorf("%w %q: not part of a %s model", ErrParam, t.Name, m.Kind)
			}
		}
	}
	return nil
}

func initFor(in *Init, kind string, c Config) {
	InitEncoder(in, c.Encoder)
	switch kind {
	case KindMAE:
		InitDecoder(in, c.Encoder, *c.MAE)
	case KindContrastive:
		InitPool(in, "pool", c.Encoder.Width, *c.Pool)
		if c.Contrastive.Loss == "infonce" {
			in.Const("logit_scale", float32(math.Log(1/c.Contrastive.TemperatureInit)))
		}
	case KindClassifier:
		f := c.Encoder.Width
		if c.Classifier.Features == "attention" {
			InitPool(in, "pool", c.Encoder.Width, *c.Pool)
			if c.Pool.EmbedDim > 0 {
				f = c.Pool.EmbedDim
			}
		}
		InitLayerNorm(in, "head/ln", f)
		InitDense(in, "head", f, c.Classifier.Labels)
	}
}

// NewMAE returns a freshly initialized MAE (encoder + decoder).
func NewMAE(enc ViTConfig, mae MAEConfig, seed uint64) (*Model, error) {
	if err := enc.Validate(); err != nil {
		return nil, err
	}
	if err := mae.Validate(); err != nil {
		return nil, err
	}
	m := &Model{Kind: KindMAE, Config: Config{Encoder: enc, MAE: &mae}, Params: NewParams()}
	initFor(NewInit(m.Params, seed), m.Kind, m.Config)
	return m, nil
}

// MAEStep is the MAE loss over data (images [B,S*S], sel [B,K,N], masked [B,N]).
func MAEStep(c Config) LossFn {
	return func(s *Scope, d []*Node) (*Node, []*Node) {
		return MAELoss(s, c.Encoder, *c.MAE, d[0], d[1], d[2]), nil
	}
}

// encoderFrom copies the encoder tensors of from (MAE or contrastive).
func encoderFrom(from *Model, p *Params) error {
	n := 0
	for _, t := range from.Params.List() {
		if strings.HasPrefix(t.Name, "encoder/") {
			p.Add(t.Clone())
			n++
		}
	}
	if n == 0 {
		return fmt.Errorf("%w: the %s model has no encoder tensors", ErrParam, from.Kind)
	}
	return nil
}

// NewContrastive starts a contrastive model from the encoder of an MAE
// model, with a fresh attention pool projecting to pool.EmbedDim.
func NewContrastive(from *Model, pool PoolConfig, cc ContrastiveConfig, seed uint64) (*Model, error) {
	if from.Kind != KindMAE && from.Kind != KindContrastive {
		return nil, fmt.Errorf("%w: contrastive training starts from a %s or %s model, got %q", ErrConfig, KindMAE, KindContrastive, from.Kind)
	}
	if pool.Queries < 1 || pool.Heads < 1 || from.Config.Encoder.Width%pool.Heads != 0 || pool.EmbedDim < 1 {
		return nil, fmt.Errorf("%w: pool queries %d, heads %d (must divide width %d), embed_dim %d", ErrConfig,
			pool.Queries, pool.Heads, from.Config.Encoder.Width, pool.EmbedDim)
	}
	switch cc.Loss {
	case "margin":
		if cc.Margin <= 0 {
			return nil, fmt.Errorf("%w: margin %g <= 0", ErrConfig, cc.Margin)
		}
	case "infonce":
		if cc.TemperatureInit <= 0 {
			return nil, fmt.Errorf("%w: temperature_init %g <= 0", ErrConfig, cc.TemperatureInit)
		}
	default:
		return nil, fmt.Errorf("%w: loss %q: want margin or infonce", ErrConfig, cc.Loss)
	}
	m := &Model{Kind: KindContrastive, Config: Config{Encoder: from.Config.Encoder, Pool: &pool, Contrastive: &cc}, Params: NewParams()}
	full := NewParams()
	initFor(NewInit(full, seed), m.Kind, m.Config)
	for _, t := range full.List() {
		if !strings.HasPrefix(t.Name, "encoder/") {
			m.Params.Add(t)
		}
	}
	return m, encoderFrom(from, m.Params)
}

// Trainable returns the predicate of the parameters training updates.
func (m *Model) Trainable() func(string) bool {
	frozenEncoder := false
	frozenPool := false
	switch m.Kind {
	case KindContrastive:
		frozenEncoder = m.Config.Contrastive.FreezeEncoder
	case KindClassifier:
		frozenEncoder = m.Config.Classifier.Mode == "probe"
		frozenPool = frozenEncoder && !m.Config.Classifier.FreshPool
	}
	return func(name string) bool {
		switch {
		case frozenEncoder && strings.HasPrefix(name, "encoder/"):
			return false
		case frozenPool && strings.HasPrefix(name, "pool/"):
			return false
		}
		return true
	}
}

// ImageEmbedding is the contrastive model's image embedding [B,E] (the
// attention pool's projection; not normalized).
func ImageEmbedding(s *Scope, c Config, images *Node, freeze bool) *Node {
	tokens := EncodeImages(s, c.Encoder, images)
	if freeze {
		tokens = StopGradient(tokens)
	}
	return AttentionPool(s.In("pool"), tokens, *c.Pool)
}

// ContrastiveStep is the contrastive loss over data (images [B,S*S],
// text embeddings [B,E]); the extra output is the image embedding [B,E].
func ContrastiveStep(c Config) LossFn {
	cc := *c.Contrastive
	return func(s *Scope, d []*Node) (*Node, []*Node) {
		u := ImageEmbedding(s, c, d[0], cc.FreezeEncoder)
		t := d[1]
		var loss *Node
		if cc.Loss == "infonce" {
			loss = InfoNCELoss(s, u, t, s.Var("logit_scale"))
		} else {
			if cc.Normalize {
				u, t = UnitRows(u), UnitRows(t)
			}
			loss = MarginLoss(s, u, t, cc.Margin)
		}
		return loss, []*Node{u}
	}
}

// NewClassifier starts a classifier from an MAE or contrastive model.
// features "mean" pools the encoder's tokens by their mean (the poster's
// MAE-only baseline); "attention" uses the contrastive model's trained
// attention pool and projection, or a fresh attention pool (no projection)
// on an MAE model. mode is "probe" or "finetune".
func NewClassifier(from *Model, features, mode string, labels int, seed uint64) (*Model, error) {
	if from.Kind != KindMAE && from.Kind != KindContrastive {
		return nil, fmt.Errorf("%w: a classifier starts from a %s or %s model, got %q", ErrConfig, KindMAE, KindContrastive, from.Kind)
	}
	if features != "mean" && features != "attention" {
		return nil, fmt.Errorf("%w: features %q: want mean or attention", ErrConfig, features)
	}
	if mode != "probe" && mode != "finetune" {
		return nil, fmt.Errorf("%w: mode %q: want probe or finetune", ErrConfig, mode)
	}
	if labels < 1 {
		return nil, fmt.Errorf("%w: labels %d < 1", ErrConfig, labels)
	}
	cc := &ClassifierConfig{Labels: labels, Features: features, Mode: mode}
	c := Config{Encoder: from.Config.Encoder, Classifier: cc}
	if features == "attention" {
		if from.Kind == KindContrastive {
			p := *from.Config.Pool
			c.Pool = &p
		} else {
			heads := from.Config.Encoder.Heads
			c.Pool = &PoolConfig{Queries: 1, Heads: heads}
			cc.FreshPool = true
		}
	}
	m := &Model{Kind: KindClassifier, Config: c, Params: NewParams()}
	full := NewParams()
	initFor(NewInit(full, seed), m.Kind, m.Config)
	for _, t := range full.List() {
		if strings.HasPrefix(t.Name, "head") || (cc.FreshPool && strings.HasPrefix(t.Name, "pool/")) {
			m.Params.Add(t)
		}
	}
	if features == "attention" && !cc.FreshPool {
		for _, t := range from.Params.List() {
			if strings.HasPrefix(t.Name, "pool/") {
				m.Params.Add(t.Clone())
			}
		}
	}
	if err := encoderFrom(from, m.Params); err != nil {
		return nil, err
	}
	return m, m.Check()
}

// ClassifierLogits returns the label logits [B,L] of images.
func ClassifierLogits(s *Scope, c Config, images *Node) *Node {
	return ClassifierHead(s, ClassifierFeatures(s, c, images))
}

// ClassifierFeatures returns what the classifier head sees [B,F]: the
// mean of the encoder's patch tokens or the attention pool's output. In
// probe mode no gradient flows into the encoder (nor into a trained pool).
func ClassifierFeatures(s *Scope, c Config, images *Node) *Node {
	cc := c.Classifier
	tokens := EncodeImages(s, c.Encoder, images)
	if cc.Mode == "probe" {
		tokens = StopGradient(tokens)
	}
	if cc.Features != "attention" {
		return MeanTokens(tokens)
	}
	f := AttentionPool(s.In("pool"), tokens, *c.Pool)
	if cc.Mode == "probe" && !cc.FreshPool {
		f = StopGradient(f)
	}
	return f
}

// ClassifierHead returns the label logits [B,L] of features [B,F]: layer
// norm and a dense layer ("head/ln", "head").
func ClassifierHead(s *Scope, features *Node) *Node {
	return Dense(s.In("head"), LayerNorm(s.In("head/ln"), features))
}

// FrozenFeatures reports whether the classifier's features are fixed
// during training (probe mode without a fresh pool): the head then trains
// on features computed once (HeadStep).
func (c Config) FrozenFeatures() bool {
	return c.Classifier != nil && c.Classifier.Mode == "probe" && !c.Classifier.FreshPool
}

// FeatureDim is the width F of the classifier's features.
func (c Config) FeatureDim() int {
	if c.Classifier != nil && c.Classifier.Features == "attention" && c.Pool != nil && c.Pool.EmbedDim > 0 {
		return c.Pool.EmbedDim
	}
	return c.Encoder.Width
}

// ClassifierStep is the masked BCE over data (images [B,S*S], labels
// [B,L], mask [B,L]); the extra output is the logits.
func ClassifierStep(c Config) LossFn {
	return func(s *Scope, d []*Node) (*Node, []*Node) {
		z := ClassifierLogits(s, c, d[0])
		return BCEWithLogits(z, d[1], d[2]), []*Node{z}
	}
}

// HeadStep is ClassifierStep on precomputed features (features [B,F],
// labels [B,L], mask [B,L]): the same loss and head gradients when the
// features are frozen, without running the encoder.
func HeadStep() LossFn {
	return func(s *Scope, d []*Node) (*Node, []*Node) {
		z := ClassifierHead(s, d[0])
		return BCEWithLogits(z, d[1], d[2]), []*Node{z}
	}
}
