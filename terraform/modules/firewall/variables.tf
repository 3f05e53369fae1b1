variable "layout_file" {
  description = "Path of vm-layout/layout.yaml (the single source of every flow)."
  type        = string

  validation {
    condition     = can(yamldecode(file(var.layout_file)).flows)
    error_message = "The layout file must be a readable vm-layout YAML file with flows."
  }
}
