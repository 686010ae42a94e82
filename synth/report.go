package synth

import (
	"math/rand/v2"
	"strings"

	"github.com/medflow/medflow/mimic"
)

// phrases per label: positive, negative and hedged (uncertain) wordings.
var phrases = [NumLabels][3][]string{
	Atelectasis: {
		{"Bibasilar atelectasis.", "Linear atelectasis at the left lung base.", "Patchy opacity at the right base likely reflects atelectasis."},
		{"No atelectasis.", "The lung bases are well aerated."},
		{"Mild bibasilar opacities may reflect atelectasis.", "Atelectasis is possible at the left base."}},
	Cardiomegaly: {
		{"The heart is enlarged.", "Moderate cardiomegaly.", "Cardiomegaly is again noted."},
		{"Heart size is normal.", "The cardiac silhouette is within normal limits."},
		{"The heart size is borderline enlarged.", "Possible mild cardiomegaly."}},
	Consolidation: {
		{"Focal consolidation in the right lower lobe.", "There is a left lower lobe consolidation."},
		{"No focal consolidation.", "There is no consolidation."},
		{"Consolidation cannot be excluded at the right base.", "Possible early consolidation in the lingula."}},
	Edema: {
		{"Mild pulmonary edema.", "Moderate interstitial pulmonary edema.", "Perihilar haziness consistent with pulmonary edema."},
		{"No pulmonary edema.", "There is no evidence of pulmonary vascular congestion or edema."},
		{"Possible mild pulmonary vascular congestion.", "Mild edema is not excluded."}},
	EnlargedCardiomediastinum: {
		{"The mediastinum is widened.", "Enlarged cardiomediastinal silhouette."},
		{"The cardiomediastinal silhouette is normal.", "Mediastinal contours are unremarkable."},
		{"The mediastinum may be slightly widened, possibly due to technique."}},
	Fracture: {
		{"Acute fracture of the left posterior seventh rib.", "Displaced right rib fractures."},
		{"No acute osseous abnormality.", "No displaced rib fracture."},
		{"Possible nondisplaced fracture of the right sixth rib."}},
	LungLesion: {
		{"A 2 cm nodule in the right upper lobe.", "Rounded mass in the left midlung."},
		{"No pulmonary nodules or masses."},
		{"A possible nodule in the left upper lobe warrants further evaluation."}},
	LungOpacity: {
		{"Patchy opacities in the lower lungs.", "Increased opacity at the right base."},
		{"The lungs are clear.", "No focal opacity."},
		{"Subtle opacity at the left base is of uncertain significance."}},
	NoFinding: {
		{"No acute cardiopulmonary process.", "No acute intrathoracic abnormality."}, {}, {}},
	PleuralEffusion: {
		{"Small left pleural effusion.", "Moderate bilateral pleural effusions.", "Layering right pleural effusion with blunting of the costophrenic angle."},
		{"No pleural effusion.", "There is no effusion."},
		{"Possible trace left pleural effusion.", "Blunting of the costophrenic angle may represent a small effusion."}},
	PleuralOther: {
		{"Pleural thickening along the right lateral chest wall.", "Calcified pleural plaques."},
		{"No pleural abnormality."},
		{"Possible apical pleural thickening."}},
	Pneumonia: {
		{"Findings are concerning for pneumonia.", "Right lower lobe pneumonia."},
		{"No evidence of pneumonia."},
		{"Infection cannot be excluded.", "Cannot exclude pneumonia in the appropriate clinical setting."}},
	Pneumothorax: {
		{"Small right apical pneumothorax.", "Moderate left pneumothorax."},
		{"No pneumothorax.", "There is no pneumothorax."},
		{"A tiny apical pneumothorax cannot be excluded."}},
	SupportDevices: {
		{"Endotracheal tube terminates 4 cm above the carina.", "Right internal jugular central line ends in the SVC.", "A nasogastric tube courses below the diaphragm.", "Left chest wall pacemaker with leads in the right atrium and ventricle."},
		{"No lines or tubes."},
		{"A line projects over the neck, possibly external."}},
}

var (
	indications = []string{"___ year old man with shortness of breath.", "___F with cough and fever // eval for pneumonia",
		"History: ___M with chest pain", "Evaluate for interval change.", "___ year old woman status post line placement.",
		"Hypoxia. Assess for edema."}
	techniques  = []string{"Chest PA and lateral", "Portable AP chest radiograph.", "PA and lateral views of the chest."}
	comparisons = []string{"___.", "None.", "Chest radiograph from ___.", "Prior study ___ at ___."}
)

// Report writes a radiology report consistent with labels: positives are
// stated, uncertain ones hedged, negatives negated, blanks not mentioned,
// in MIMIC-CXR's layout (indented section headers, lines of at most 79
// characters, ___ for PHI). Some reports lack FINDINGS or IMPRESSION, and
// a few have an addendum after a line of underscores.
func Report(rng *rand.Rand, labels [NumLabels]mimic.Label, view string) string {
	var findings, impression []string
	for i, v := range labels {
		var p []string
		switch v {
		case Positive:
			p = phrases[i][0]
		case Negative:
			p = phrases[i][1]
		case Uncertain:
			p = phrases[i][2]
		}
		if len(p) == 0 || i == NoFinding {
			continue
		}
		s := p[rng.IntN(len(p))]
		findings = append(findings, s)
		if v != Negative {
			impression = append(impression, s)
		}
	}
	if len(impression) == 0 || labels[NoFinding] == Positive {
		impression = append([]string{phrases[NoFinding][0][rng.IntN(2)]}, impression...)
	}
	rng.Shuffle(len(findings), func(i, j int) { findings[i], findings[j] = findings[j], findings[i] })

	var b strings.Builder
	b.WriteString("                                 FINAL REPORT\n")
	exam := "CHEST (PA AND LAT)"
	if view == "AP" {
		exam = "CHEST (PORTABLE AP)"
	}
	section(&b, "EXAMINATION", exam)
	section(&b, "INDICATION", indications[rng.IntN(len(indications))])
	section(&b, "TECHNIQUE", techniques[rng.IntN(len(techniques))])
	section(&b, "COMPARISON", comparisons[rng.IntN(len(comparisons))])
	switch r := rng.Float64(); {
	case r < 0.15: // impression only
		section(&b, "IMPRESSION", strings.Join(append(impression, findings...), " "))
	case r < 0.25: // findings only
		section(&b, "FINDINGS", strings.Join(append(findings, impression[0]), " "))
	default:
		section(&b, "FINDINGS", strings.Join(findings, " "))
		section(&b, "IMPRESSION", strings.Join(impression, " "))
	}
	if rng.Float64() < 0.03 {
		b.WriteString(" " + strings.Repeat("_", 78) + "\n")
		section(&b, "ADDENDUM", "Findings were discussed with Dr. ___ by telephone at ___.")
	}
	return b.String()
}

// section writes " NAME:  text" wrapped at 79 columns, each line indented
// by one space, and a blank line after.
func section(b *strings.Builder, name, text string) {
	line := " " + name + ":  "
	if name == "FINDINGS" || name == "IMPRESSION" {
		b.WriteString(" " + name + ": \n \n")
		line = ""
	}
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > 79 {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = ""
		}
		if line == "" {
			line = " " + w
		} else if strings.HasSuffix(line, ":  ") {
			line += w
		} else {
			line += " " + w
		}
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n \n")
}
