package check

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	base    = "../kubernetes"
	overlay = "../kubernetes/overlays/second-account"
)

// rendered is a kustomization rendered, each object decoded strictly into its API type.
type rendered struct {
	cronJobs   map[string]*batchv1.CronJob
	claims     map[string]*corev1.PersistentVolumeClaim
	configMaps map[string]*corev1.ConfigMap
	yaml       []byte
}

// render builds dir with kustomize's Go API (what `kubectl kustomize` runs) and decodes every
// object with unknown fields refused: a misspelt field is an error here, not a field the API
// server drops.
func render(t *testing.T, dir string) *rendered {
	t.Helper()
	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err)
	out := &rendered{cronJobs: map[string]*batchv1.CronJob{}, claims: map[string]*corev1.PersistentVolumeClaim{},
		configMaps: map[string]*corev1.ConfigMap{}}
	out.yaml, err = resMap.AsYaml()
	require.NoError(t, err)
	for _, r := range resMap.Resources() {
		doc, err := r.AsYAML()
		require.NoError(t, err)
		var into any
		switch r.GetKind() {
		case "CronJob":
			cj := &batchv1.CronJob{}
			out.cronJobs[r.GetName()], into = cj, cj
		case "PersistentVolumeClaim":
			c := &corev1.PersistentVolumeClaim{}
			out.claims[r.GetName()], into = c, c
		case "ConfigMap":
			c := &corev1.ConfigMap{}
			out.configMaps[r.GetName()], into = c, c
		default:
			t.Fatalf("%s: an object of kind %s this test does not know", dir, r.GetKind())
		}
		require.NoError(t, yaml.UnmarshalStrict(doc, into), "%s %s", r.GetKind(), r.GetName())
	}
	return out
}

// Every pod passes the restricted Pod Security Standard, needs no shell, has requests and a
// memory limit, reads the password from a file, and runs under Forbid with a deadline and a
// time zone.
func TestTheCronJobsAreRestrictedAndBounded(t *testing.T) {
	for _, dir := range []string{base, overlay} {
		r := render(t, dir)
		require.Len(t, r.cronJobs, 2, dir)
		eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
		require.NoError(t, err)
		for name, cj := range r.cronJobs {
			spec := cj.Spec
			assert.Equal(t, batchv1.ForbidConcurrent, spec.ConcurrencyPolicy, name)
			require.NotNil(t, spec.TimeZone, name)
			assert.NotEmpty(t, *spec.TimeZone, name)
			require.NotNil(t, spec.JobTemplate.Spec.ActiveDeadlineSeconds, "%s: a hung run must not block every later night", name)
			assert.Positive(t, *spec.JobTemplate.Spec.ActiveDeadlineSeconds)
			tmpl := spec.JobTemplate.Spec.Template
			for _, res := range eval.EvaluatePod(api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()},
				&tmpl.ObjectMeta, &tmpl.Spec) {
				assert.True(t, res.Allowed, "%s %s: restricted profile: %s: %s", dir, name, res.ForbiddenReason, res.ForbiddenDetail)
			}
			for _, c := range tmpl.Spec.Containers {
				assert.Empty(t, c.Command, "%s: the image's entrypoint runs leaf-import; there is no shell", name)
				for _, a := range c.Args {
					assert.NotContains(t, a, "/bin/sh", name)
				}
				sc := c.SecurityContext
				require.NotNil(t, sc, name)
				assert.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "%s: read-only root", name)
				assert.False(t, c.Resources.Requests.Memory().IsZero(), "%s: memory request", name)
				assert.False(t, c.Resources.Requests.Cpu().IsZero(), "%s: cpu request", name)
				limit := c.Resources.Limits.Memory()
				assert.False(t, limit.IsZero(), "%s: memory limit", name)
				assert.GreaterOrEqual(t, limit.Cmp(resource.MustParse("256Mi")), 0)
				for _, e := range c.Env {
					assert.NotEqual(t, "LEAF_PASSWORD", e.Name, "%s: the password is a mounted file, not an environment variable", name)
					assert.NotEqual(t, "LEAF_TOKEN", e.Name, name)
				}
				assert.Contains(t, c.Args, "--attention-exit-code=0", "%s: growers needing a person alert through the metrics, not a failed Job", name)
				assert.True(t, slices.ContainsFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--metrics-push=") }), name)
			}
			var manifests *corev1.Volume
			for i, v := range tmpl.Spec.Volumes {
				assert.Nil(t, v.HostPath, "%s: no hostPath (refused by the baseline profile, and not writable as non-root)", name)
				if v.Name == "manifests" {
					manifests = &tmpl.Spec.Volumes[i]
				}
			}
			require.NotNil(t, manifests, name)
			assert.Nil(t, manifests.ConfigMap, "%s: a ConfigMap holds 1 MiB, about 7,000 growers", name)
			require.NotNil(t, manifests.PersistentVolumeClaim, name)
			assert.Contains(t, r.claims, manifests.PersistentVolumeClaim.ClaimName, "%s: the claim is part of the deployment", name)
		}
		var cm *corev1.ConfigMap
		for _, c := range r.configMaps {
			cm = c
		}
		require.NotNil(t, cm, dir)
		assert.Equal(t, "/secrets/leaf/password", cm.Data["LEAF_PASSWORD_FILE"])
		assert.Equal(t, "/state", cm.Data["LEAF_IMPORT_STATE_DIR"])
	}
}

// The overlay is a second account beside the first: other names, claims and Secret.
func TestTheOverlayIsASecondAccount(t *testing.T) {
	b, o := render(t, base), render(t, overlay)
	for name := range b.cronJobs {
		assert.NotContains(t, o.cronJobs, name, "the overlay's names differ from the base's")
	}
	for name, cj := range o.cronJobs {
		assert.True(t, strings.HasSuffix(name, "-acme"), name)
		spec := cj.Spec.JobTemplate.Spec.Template.Spec
		for _, v := range spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				assert.Contains(t, o.claims, v.PersistentVolumeClaim.ClaimName, "%s: the renamed claim", name)
			}
			if v.Secret != nil {
				assert.Equal(t, "leaf-api-owner-acme", v.Secret.SecretName, name)
			}
		}
		assert.Equal(t, "leaf-api-owner-acme", spec.Containers[0].Env[0].ValueFrom.SecretKeyRef.Name, name)
	}
}

// kubectl renders the base offline as kustomize's Go API does. kubectl before 1.24 (Debian's
// kubernetes-client is 1.20) embeds a kustomize too old for this file's fields: the test says
// so and skips.
func TestKubectlKustomizeRendersTheBase(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: `kubectl kustomize` is not checked (kustomize's Go API rendered the base above)")
	}
	v, _ := exec.Command(kubectl, "version", "--client").CombinedOutput()
	if m := regexp.MustCompile(`Kustomize Version: v(\d+)`).FindSubmatch(v); m == nil || string(m[1]) < "4" {
		t.Skipf("kubectl's kustomize is older than v4 (%s): `kubectl kustomize` is not checked", strings.TrimSpace(string(v)))
	}
	for _, dir := range []string{base, overlay} {
		var stderr bytes.Buffer
		cmd := exec.Command(kubectl, "kustomize", dir)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, stderr.String())
		want := render(t, dir)
		for name := range want.cronJobs {
			assert.Contains(t, string(out), "name: "+name, dir)
		}
		assert.Equal(t, strings.Count("\n"+string(want.yaml), "\nkind: "), strings.Count("\n"+string(out), "\nkind: "), dir)
	}
}

// The alert rules pass their promtool unit tests: a failed night, a job that moved nodes, a
// recovery.
func TestAlertRulesPassTheirUnitTests(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (scripts/test-tools.sh installs Debian's prometheus): the alert rules are not checked")
	}
	for _, args := range [][]string{{"check", "rules", "rules.yaml"}, {"test", "rules", "rules_test.yaml"}} {
		cmd := exec.Command(promtool, args...)
		cmd.Dir = "../prometheus"
		out, err := cmd.CombinedOutput()
		assert.NoError(t, err, "promtool %s:\n%s", strings.Join(args, " "), out)
	}
	_, err = os.Stat("../prometheus/rules_test.yaml")
	require.NoError(t, err)
}
