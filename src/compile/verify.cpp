// placeholder: verify lands here.
namespace hdeploy {}
