# One VM of the layout, provider-neutral: its private address and Compose profile from
# vm-layout/layout.yaml, and the cloud-init user data that installs Docker, starts the VM's Compose
# profile and loads the VM's nftables ruleset (vm-layout/generated/<vm>.nft). A provider example
# (examples/hetzner) creates the machine with this user data.

locals {
  layout  = yamldecode(file(var.layout_file))
  vm      = local.layout.vms[var.vm_name]
  nft     = file(coalesce(var.nft_file, "${dirname(var.layout_file)}/generated/${var.vm_name}.nft"))
  profile = local.vm.compose_profile

  firewall_unit = <<-UNIT
    [Unit]
    Description=Palisade firewall (nftables table inet palisade_fw from vm-layout)
    After=network-pre.target docker.service
    Wants=network-pre.target

    [Service]
    Type=oneshot
    RemainAfterExit=yes
    ExecStart=/usr/sbin/nft -f /etc/palisade/palisade_fw.nft
    ExecStop=/usr/sbin/nft delete table inet palisade_fw

    [Install]
    WantedBy=multi-user.target
  UNIT

  compose_up  = "cd /opt/palisade && (docker compose --profile ${local.profile} up -d || docker-compose --profile ${local.profile} up -d)"
  pull_models = length(var.ollama_models) == 0 || var.vm_name != "ollama" ? "true" : join(" && ", [for model in var.ollama_models : "cd /opt/palisade && (docker compose --profile ollama exec -T ollama ollama pull ${model} || docker-compose --profile ollama exec -T ollama ollama pull ${model})"])

  # Compose reads /opt/palisade/.env: the digest pins the nextcloud and ollama profiles require.
  image_pins_env = join("", [for name in sort(keys(var.image_pins)) : "${name}=${var.image_pins[name]}\n"])

  user_data = templatefile("${path.module}/cloud-init.yaml.tftpl", {
    vm_name           = var.vm_name
    nft_ruleset       = local.nft
    firewall_unit     = local.firewall_unit
    palisade_ref      = var.palisade_ref
    palisade_repo_url = var.palisade_repo_url
    compose_up        = local.compose_up
    pull_models       = local.pull_models
    image_pins_env    = local.image_pins_env
  })
}
