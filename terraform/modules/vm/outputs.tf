output "name" {
  value = var.vm_name
}

output "private_ip" {
  description = "The VM's address on the private network, from the layout."
  value       = local.vm.address
}

output "compose_profile" {
  value = local.profile
}

output "user_data" {
  description = "cloud-init user data: installs Docker, starts the Compose profile, loads the nftables ruleset."
  value       = local.user_data
}
