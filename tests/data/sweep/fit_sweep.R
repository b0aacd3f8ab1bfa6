# lme4's answers for the engine sweep (see make_sweep.py): Rscript tests/data/sweep/fit_sweep.R
# Each fit is made with bobyqa and with Nelder_Mead; the better log-likelihood is kept.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
data <- read.csv(gzfile(file.path(here, "sweep_data.csv.gz")), colClasses = c(id = "character", g = "character", c = "character"))
fits <- read.csv(file.path(here, "sweep_fits.csv"), colClasses = c(id = "character", model = "character", reference = "character"))
name_term <- function(x) {
  x <- sub("^\\(Intercept\\)$", "Intercept", x)
  x <- sub("^t:c(.*)$", "t:c[T.\\1]", x)
  sub("^c(.*)$", "c[T.\\1]", x)
}
out <- list()
for (k in seq_len(nrow(fits))) {
  f <- fits[k, ]
  d <- data[data$id == f$id, ]
  d$tt <- d$t - f$shift
  d$g <- factor(d$g, levels = unique(d$g))
  has_cat <- any(d$c != "")
  rhs <- if (has_cat) "tt * c" else "tt"
  if (has_cat) {
    lev <- unique(d$c)
    ref <- if (f$reference == "") lev[1] else f$reference
    d$c <- factor(d$c, levels = c(ref, setdiff(lev, ref)))
  }
  re <- switch(f$model, ri = "(1 | g)", rs = "(tt | g)", un = "(1 | g) + (0 + tt | g)")
  form <- as.formula(paste("y ~", rhs, "+", re))
  best <- NULL
  for (opt in c("bobyqa", "Nelder_Mead")) {
    m <- tryCatch(suppressWarnings(suppressMessages(
      lmer(form, data = d, REML = f$reml == 1, control = lmerControl(optimizer = opt, calc.derivs = FALSE)))),
      error = function(e) NULL)
    if (!is.null(m) && (is.null(best) || logLik(m) > logLik(best[[1]]))) best <- list(m, opt)
  }
  if (is.null(best)) { cat("no fit:", f$id, f$model, "\n"); next }
  m <- best[[1]]
  vc <- as.data.frame(VarCorr(m))
  fe <- fixef(m); se <- sqrt(diag(as.matrix(vcov(m))))
  names(fe) <- name_term(sub("^tt", "t", sub(":tt", ":t", sub("^tt:", "t:", names(fe)))))
  names(se) <- names(fe)
  comp <- list(group_var = vc$vcov[vc$grp == "g" & vc$var1 == "(Intercept)" & is.na(vc$var2)],
               residual_var = vc$vcov[vc$grp == "Residual"])
  if (f$model == "rs") {
    comp$slope_var <- vc$vcov[vc$grp == "g" & vc$var1 == "tt" & is.na(vc$var2)]
    comp$group_slope_cov <- vc$vcov[vc$grp == "g" & !is.na(vc$var2)]
  }
  if (f$model == "un") comp$slope_var <- vc$vcov[vc$grp == "g.1"]
  out[[length(out) + 1]] <- list(
    id = f$id, model = f$model, reml = f$reml == 1, reference = f$reference, shift = f$shift,
    optimizer = best[[2]], loglik = as.numeric(logLik(m)), singular = isSingular(m),
    theta = unname(getME(m, "theta")), n_obs = nrow(d), n_groups = nlevels(d$g),
    fixed_effects = lapply(setNames(names(fe), names(fe)), function(n) list(estimate = unname(fe[n]), std_error = unname(se[n]))),
    variance_components = comp)
}
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = FALSE), file.path(here, "sweep_lme4.json"))
cat(length(out), "fits written;", R.version.string, "lme4", as.character(packageVersion("lme4")), "\n")
