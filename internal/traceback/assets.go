package traceback

// SetAssetVersion makes the pages name their stylesheets and script with
// ?v=version, which the server answers as immutable: a page whose assets
// the browser already holds paints without asking for them again.
func (r *Renderer) SetAssetVersion(version string) {
	r.assetQuery = ""
	if version != "" {
		r.assetQuery = "?v=" + version
	}
}
