# lme4's uncorrelated random intercept + slope on sleepstudy: Rscript tests/data/engine/uncorrelated.R
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
d <- read.csv(file.path(here, "..", "sleepstudy.csv"))
d$Subject <- factor(d$Subject, levels = unique(d$Subject))
out <- list()
for (reml in c(TRUE, FALSE)) {
  best <- NULL
  for (opt in c("bobyqa", "Nelder_Mead")) {
    m <- lmer(Reaction ~ Days + (1 | Subject) + (0 + Days | Subject), data = d, REML = reml,
              control = lmerControl(optimizer = opt))
    if (is.null(best) || logLik(m) > logLik(best)) best <- m
  }
  m <- best
  re <- ranef(m, condVar = TRUE)$Subject
  pv <- attr(re, "postVar")
  se <- if (is.list(pv)) cbind(sqrt(pv[[1]][1, 1, ]), sqrt(pv[[2]][1, 1, ])) else t(sqrt(apply(pv, 3, diag)))
  vc <- as.data.frame(VarCorr(m))
  out[[length(out) + 1]] <- list(
    reml = reml, loglik = as.numeric(logLik(m)), theta = unname(getME(m, "theta")), singular = isSingular(m),
    fixed_effects = list(estimate = unname(fixef(m)), std_error = unname(sqrt(diag(as.matrix(vcov(m)))))),
    group_var = vc$vcov[1], slope_var = vc$vcov[2], residual_var = vc$vcov[3],
    groups = rownames(re), intercept = re[, 1], slope = re[, 2], intercept_se = se[, 1], slope_se = se[, 2])
}
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "uncorrelated_lme4.json"))
